package ops

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/subscribers"
)

// store is the subscribers store on the service's database (stateless).
func (s *Service) store() *subscribers.Store { return subscribers.NewStore(s.d) }

// resolveList is the list an operation means, checked for p: the named
// one, or with slug "" the only list the actor may work on (the command
// line's "--list may be left out when the database holds one list").
// The list comes without its subscriber count, which costs a scan.
func (s *Service) resolveList(ctx context.Context, a tidings.Actor, slug string, p Perm) (*tidings.List, error) {
	if err := authorize(a, PermView, 0); err != nil { // no role at all
		return nil, err
	}
	st := s.store()
	var l *tidings.List
	var err error
	switch {
	case slug != "":
		l, err = st.PublicList(ctx, slug)
	case a.AllLists:
		l, err = st.ResolveList(ctx, "")
	default:
		l, err = s.onlyVisibleList(ctx, a)
	}
	if err != nil {
		return nil, mapStore(err, "list", nil)
	}
	if err := authorize(a, p, l.ID); err != nil {
		return nil, err
	}
	return l, nil
}

// onlyVisibleList is the one list a limited actor may see.
func (s *Service) onlyVisibleList(ctx context.Context, a tidings.Actor) (*tidings.List, error) {
	lists, err := s.store().Lists(ctx)
	if err != nil {
		return nil, err
	}
	var mine []tidings.List
	for _, l := range lists {
		if a.MayList(l.ID) {
			mine = append(mine, l)
		}
	}
	switch len(mine) {
	case 0:
		return nil, fmt.Errorf("%s may work on no list: %w", a, ErrNotFound)
	case 1:
		return &mine[0], nil
	}
	slugs := make([]string, 0, len(mine))
	for _, l := range mine {
		slugs = append(slugs, l.Slug)
	}
	return nil, Invalid("list", "several lists: name one (%s)", strings.Join(slugs, ", "))
}

// Lists are the lists the actor may see, by slug, each with its count of
// confirmed subscribers.
func (s *Service) Lists(ctx context.Context, a tidings.Actor) ([]tidings.List, error) {
	if err := authorize(a, PermView, 0); err != nil {
		return nil, err
	}
	all, err := s.store().Lists(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]tidings.List, 0, len(all))
	for _, l := range all {
		if a.MayList(l.ID) {
			out = append(out, l)
		}
	}
	return out, nil
}

// List is one list the actor may see, with its count of confirmed
// subscribers; slug "" is the actor's only list.
func (s *Service) List(ctx context.Context, a tidings.Actor, slug string) (*tidings.List, error) {
	l, err := s.resolveList(ctx, a, slug, PermView)
	if err != nil {
		return nil, err
	}
	full, err := s.store().ListByID(ctx, l.ID)
	if err != nil {
		return nil, mapStore(err, "list", nil)
	}
	return full, nil
}

// CreateList adds a list (an admin of every list: a list made by an admin
// limited to some lists would be out of its own reach). l gets its id and
// defaults.
func (s *Service) CreateList(ctx context.Context, a tidings.Actor, l *tidings.List) error {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return err
	}
	if err := checkListKey(l); err != nil {
		return err
	}
	if err := s.store().CreateList(ctx, l); err != nil {
		return mapStore(err, "slug", listField)
	}
	return s.audit(ctx, a, auditEntry{Action: "list.add", ObjectKind: "list", ObjectID: l.Slug, ListID: l.ID,
		Detail: map[string]string{"name": l.Name, "from": l.From, "lang": string(l.Lang), "tz": l.TZ}})
}

// checkListKey refuses a list's DKIM key that cannot sign, whichever front
// end set it: stored, it would fail every send of the list at its start.
func checkListKey(l *tidings.List) error {
	if _, err := mailer.ListDKIM(l.DKIMSelector, l.DKIMKey); err != nil {
		return Invalid("dkim_key", "list %s: %v", l.Slug, err)
	}
	return nil
}

// UpdateList changes a list's settings (admin); fn edits a copy, and the
// result is validated and stored in one transaction. fn's own error is
// returned as it is.
func (s *Service) UpdateList(ctx context.Context, a tidings.Actor, slug string, fn func(*tidings.List) error) (*tidings.List, error) {
	l, err := s.resolveList(ctx, a, slug, PermAdmin)
	if err != nil {
		return nil, err
	}
	var before tidings.List
	var fnErr error
	err = s.store().UpdateList(ctx, l.Slug, func(cur *tidings.List) error {
		before = *cur
		if fnErr = fn(cur); fnErr != nil {
			return fnErr
		}
		if cur.DKIMKey != before.DKIMKey || cur.DKIMSelector != before.DKIMSelector {
			fnErr = checkListKey(cur)
		}
		return fnErr
	})
	if err != nil {
		if fnErr != nil {
			return nil, fnErr
		}
		return nil, mapStore(err, "slug", listField)
	}
	after, err := s.store().ListByID(ctx, l.ID)
	if err != nil {
		return nil, mapStore(err, "list", nil)
	}
	return after, s.audit(ctx, a, auditEntry{Action: "list.set", ObjectKind: "list", ObjectID: after.Slug, ListID: l.ID,
		Detail: listChanges(&before, after)})
}

// listChanges names the settings that changed, with their new values;
// the DKIM key itself never enters the audit log.
func listChanges(b, a *tidings.List) map[string]any {
	out := map[string]any{}
	set := func(name string, old, new any) {
		if old != new {
			out[name] = new
		}
	}
	set("slug", b.Slug, a.Slug)
	set("name", b.Name, a.Name)
	set("from", b.From, a.From)
	set("lang", b.Lang, a.Lang)
	set("tz", b.TZ, a.TZ)
	set("reply_to", b.ReplyTo, a.ReplyTo)
	set("address", b.Address, a.Address)
	set("templates", b.TemplateDir, a.TemplateDir)
	set("clicks", b.Clicks, a.Clicks)
	set("opens", b.Opens, a.Opens)
	set("activity_days", b.ActivityDays, a.ActivityDays)
	set("dkim_selector", b.DKIMSelector, a.DKIMSelector)
	if b.DKIMKey != a.DKIMKey {
		out["dkim_key"] = "changed"
	}
	return out
}

// DeleteList removes a list (admin); it refuses while the list has
// pending or confirmed subscribers unless force (ErrConflict).
func (s *Service) DeleteList(ctx context.Context, a tidings.Actor, slug string, force bool) error {
	l, err := s.resolveList(ctx, a, slug, PermAdmin)
	if err != nil {
		return err
	}
	err = s.store().DeleteList(ctx, l.Slug, force)
	if err != nil && !errorsIsWALBusy(err) {
		return mapStore(err, "list", nil)
	}
	// Deleted, perhaps with the WAL still holding old pages: recorded
	// either way, and the warning passed on.
	if aerr := s.audit(ctx, a, auditEntry{Action: "list.rm", ObjectKind: "list", ObjectID: l.Slug, ListID: l.ID,
		Detail: map[string]bool{"force": force}}); aerr != nil {
		return aerr
	}
	return err
}
