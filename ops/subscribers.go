package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// SubscriberEvent is one line of a person's history on a list.
type SubscriberEvent struct {
	At     time.Time
	ListID int64
	Kind   string // subscribed, pending, confirmed, unsubscribed, bounced, blocked (status changes), topics, delivery, bounce, click, open (tracked, individual mode)
	Detail string // status change: the status before; topics: the new choice; delivery: its state; bounce: kind, code, diagnostic
	Issue  int64  // delivery, bounce, click, open: the issue's number on the list (0: none)
	// IssueID is that issue's id (for links to it); 0 with Issue.
	IssueID int64
}

// SubscriberDetail is a person's page: only the subscriptions on the
// actor's lists. A person on none of them is ErrNotFound, never
// ErrForbidden, so an editor cannot learn who is on other lists.
type SubscriberDetail struct {
	Subscriber tidings.Subscriber
	History    []SubscriberEvent // newest first
}

// historyLimit bounds each kind of a person's history.
const historyLimit = 200

// Subscriber is one person, by address, with their history on the
// actor's lists. An admin of every list also sees a person on no list.
func (s *Service) Subscriber(ctx context.Context, a tidings.Actor, email string) (*SubscriberDetail, error) {
	if err := authorize(a, PermView, 0); err != nil {
		return nil, err
	}
	p, err := s.findPerson(ctx, a, email)
	if err != nil {
		return nil, err
	}
	d := &SubscriberDetail{Subscriber: *p, History: []SubscriberEvent{}}
	lists := map[int64]bool{}
	for _, ss := range p.Subscriptions {
		lists[ss.ListID] = true
		d.History = append(d.History, SubscriberEvent{At: ss.CreatedAt, ListID: ss.ListID, Kind: "subscribed"})
	}
	if len(lists) == 0 {
		return d, nil
	}
	queries := []struct {
		q    string
		scan func(*sql.Rows) (SubscriberEvent, error)
	}{
		{`SELECT at, list_id, kind, detail FROM subscription_events WHERE subscriber_id = ? ORDER BY at DESC, id DESC LIMIT ?`,
			func(r *sql.Rows) (SubscriberEvent, error) {
				var e SubscriberEvent
				var at int64
				err := r.Scan(&at, &e.ListID, &e.Kind, &e.Detail)
				e.At = db.Time(at)
				return e, err
			}},
		{`SELECT coalesce(d.sent_at, d.updated_at), i.list_id, d.state, d.smtp_reply, i.number, i.id FROM deliveries d
			JOIN issues i ON i.id = d.issue_id WHERE d.subscriber_id = ? ORDER BY d.updated_at DESC LIMIT ?`,
			func(r *sql.Rows) (SubscriberEvent, error) {
				e := SubscriberEvent{Kind: "delivery"}
				var at int64
				var state, reply string
				err := r.Scan(&at, &e.ListID, &state, &reply, &e.Issue, &e.IssueID)
				e.At, e.Detail = db.Time(at), strings.TrimSpace(state+" "+reply)
				return e, err
			}},
		{`SELECT b.at, b.list_id, b.kind, b.code, b.diagnostic, coalesce(i.number, 0), coalesce(i.id, 0) FROM bounces b
			LEFT JOIN issues i ON i.id = b.issue_id WHERE b.subscriber_id = ? ORDER BY b.at DESC, b.id DESC LIMIT ?`,
			func(r *sql.Rows) (SubscriberEvent, error) {
				e := SubscriberEvent{Kind: "bounce"}
				var at int64
				var kind, code, diag string
				err := r.Scan(&at, &e.ListID, &kind, &code, &diag, &e.Issue, &e.IssueID)
				e.At, e.Detail = db.Time(at), strings.Join(strings.Fields(kind+" "+code+" "+diag), " ")
				return e, err
			}},
		// human clicks and opens kept per person (package track); detail: the link's target
		{`SELECT e.at, i.list_id, e.kind, coalesce(l.url, ''), i.number, i.id FROM track_events e JOIN issues i ON i.id = e.issue_id
			LEFT JOIN track_links l ON l.issue_id = e.issue_id AND l.position = e.position AND l.link = e.link AND e.kind = 'click'
			WHERE e.subscriber_id = ? AND e.verdict = 'human' ORDER BY e.at DESC, e.id DESC LIMIT ?`,
			func(r *sql.Rows) (SubscriberEvent, error) {
				var e SubscriberEvent
				var at int64
				err := r.Scan(&at, &e.ListID, &e.Kind, &e.Detail, &e.Issue, &e.IssueID)
				e.At = db.Time(at)
				return e, err
			}},
	}
	for _, q := range queries {
		if err := s.eachRow(ctx, q.q, []any{p.ID, historyLimit}, func(r *sql.Rows) error {
			e, err := q.scan(r)
			if err == nil && lists[e.ListID] {
				d.History = append(d.History, e)
			}
			return err
		}); err != nil {
			return nil, fmt.Errorf("history of subscriber #%d: %w", p.ID, err)
		}
	}
	sort.SliceStable(d.History, func(i, j int) bool { return d.History[i].At.After(d.History[j].At) })
	return d, nil
}

// eachRow runs a read query and calls fn for each row.
func (s *Service) eachRow(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// findPerson is the person with this address, their subscriptions cut to
// the actor's lists. Someone on none of those lists is ErrNotFound with
// the same message as someone unknown (unless the actor sees every list).
func (s *Service) findPerson(ctx context.Context, a tidings.Actor, email string) (*tidings.Subscriber, error) {
	e, err := tidings.ParseEmail(email)
	if err != nil {
		return nil, plainInvalid("email", "%v", err)
	}
	p, err := s.store().Get(ctx, e.Addr)
	if err != nil {
		return nil, mapStore(err, "email", nil)
	}
	if a.AllLists {
		return p, nil
	}
	mine := p.Subscriptions[:0:0]
	for _, ss := range p.Subscriptions {
		if a.MayList(ss.ListID) {
			mine = append(mine, ss)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("%s: %w", e.Addr, ErrNotFound)
	}
	p.Subscriptions = mine
	return p, nil
}

// personOn is the person with this address on list l, or ErrNotFound.
func (s *Service) personOn(ctx context.Context, a tidings.Actor, l *tidings.List, email string) (*tidings.Subscriber, *tidings.Subscription, error) {
	p, err := s.findPerson(ctx, a, email)
	if err != nil {
		return nil, nil, err
	}
	for i, ss := range p.Subscriptions {
		if ss.ListID == l.ID {
			return p, &p.Subscriptions[i], nil
		}
	}
	return nil, nil, &storeError{msg: fmt.Sprintf("%s is not on list %s: not found", p.Email, l.Slug),
		errs: []error{ErrNotFound, subscribers.ErrNotFound}}
}

// AddSubscriber adds a person to a list, confirmed at once: whoever adds
// them vouches for them (an editor of the list may). Someone already on
// the list is ErrConflict: changing a subscription is SetSubscriberStatus
// or SetSubscriberTopics, so nobody re-confirms an unsubscribed reader by
// accident.
func (s *Service) AddSubscriber(ctx context.Context, a tidings.Actor, listSlug, email, name string, topics subscribers.TopicChoice) (*tidings.Subscriber, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermEdit)
	if err != nil {
		return nil, err
	}
	// A person is one row for every list. An actor limited to some lists
	// who adds someone already on a list it may not see keeps their
	// name: it may not rename them for the other lists' editors.
	given := name
	if !a.AllLists && name != "" {
		if prev, err := s.store().Get(ctx, email); err == nil && slices.ContainsFunc(prev.Subscriptions, func(ss tidings.Subscription) bool { return !a.MayList(ss.ListID) }) {
			name = ""
		}
	}
	p, err := s.store().Subscribe(ctx, l.ID, email, name, topics, tidings.StatusConfirmed)
	if err != nil {
		return nil, mapStore(err, "email", subscriberField)
	}
	if !a.AllLists {
		// Answer with what the actor may see: its lists, and the name it gave.
		p.Subscriptions = slices.DeleteFunc(p.Subscriptions, func(ss tidings.Subscription) bool { return !a.MayList(ss.ListID) })
		if name != given {
			p.Name = given
		}
	}
	return p, s.audit(ctx, a, auditEntry{Action: "subscriber.add", ObjectKind: "subscriber", ObjectID: fmt.Sprint(p.ID), ListID: l.ID,
		Detail: map[string]any{"topics": topics.JSON(), "status": tidings.StatusConfirmed}})
}

// SetSubscriberTopics changes a person's topics on a list (an editor of
// the list may).
func (s *Service) SetSubscriberTopics(ctx context.Context, a tidings.Actor, listSlug, email string, topics subscribers.TopicChoice) error {
	l, err := s.resolveList(ctx, a, listSlug, PermEdit)
	if err != nil {
		return err
	}
	p, _, err := s.personOn(ctx, a, l, email)
	if err != nil {
		return err
	}
	if err := s.store().SetTopics(ctx, l.ID, p.ID, topics); err != nil {
		return mapStore(err, "topics", func(string) string { return "topics" })
	}
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscription_events (subscriber_id, list_id, at, kind, detail) VALUES (?, ?, ?, 'topics', ?)`,
			p.ID, l.ID, db.Unix(s.now()), topics.String()); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		return s.record(ctx, tx, a, auditEntry{Action: "subscriber.topics", ObjectKind: "subscriber", ObjectID: fmt.Sprint(p.ID), ListID: l.ID,
			Detail: map[string]any{"topics": topics.JSON()}})
	})
}

// editorStatuses are the statuses an editor may set: unsubscribe, block,
// re-confirm. Pending and bounced belong to the double opt-in and the
// bounce rules (or an admin's hand).
var editorStatuses = map[tidings.Status]bool{
	tidings.StatusUnsubscribed: true, tidings.StatusBlocked: true, tidings.StatusConfirmed: true,
}

// SetSubscriberStatus unsubscribes, blocks or re-confirms a person on a
// list (an editor of the list may; any status for an admin).
func (s *Service) SetSubscriberStatus(ctx context.Context, a tidings.Actor, listSlug, email string, st tidings.Status) error {
	parsed, err := tidings.ParseStatus(string(st))
	if err != nil {
		return plainInvalid("status", "%v", err)
	}
	l, err := s.resolveList(ctx, a, listSlug, PermEdit)
	if err != nil {
		return err
	}
	if !a.IsAdmin() && !editorStatuses[parsed] {
		return fmt.Errorf("%s may unsubscribe, block or re-confirm, not set %s: %w", a, parsed, ErrForbidden)
	}
	p, ss, err := s.personOn(ctx, a, l, email)
	if err != nil {
		return err
	}
	if err := s.store().SetStatus(ctx, l.ID, p.ID, parsed); err != nil {
		return mapStore(err, "status", func(string) string { return "status" })
	}
	// The history line is the trigger's (every path writes one alike).
	return s.audit(ctx, a, auditEntry{Action: "subscriber.status", ObjectKind: "subscriber", ObjectID: fmt.Sprint(p.ID), ListID: l.ID,
		Detail: map[string]any{"status": parsed, "before": ss.Status}})
}

// DeleteSubscriber erases every trace of the person (admin): the person,
// by cascade their subscriptions, history, deliveries, bounces and
// tracking events, and the address wherever it was copied into a job's
// file or report or an audit detail. The audit entry names them by id.
// An admin limited to some lists may erase only someone on no other list.
func (s *Service) DeleteSubscriber(ctx context.Context, a tidings.Actor, email string) error {
	if err := authorize(a, PermView, 0); err != nil {
		return err
	}
	if !a.IsAdmin() {
		return fmt.Errorf("%s is an editor; erasing a person needs an admin: %w", a, ErrForbidden)
	}
	p, err := s.findPerson(ctx, a, email)
	if err != nil {
		return err
	}
	if !a.AllLists {
		full, err := s.store().GetByID(ctx, p.ID)
		if err != nil {
			return mapStore(err, "email", nil)
		}
		if len(full.Subscriptions) != len(p.Subscriptions) {
			return fmt.Errorf("%s is also on lists %s may not work on: %w", p.Email, a, ErrForbidden)
		}
	}
	e, err := tidings.ParseEmail(p.Email)
	if err != nil {
		return plainInvalid("email", "%v", err)
	}
	// Copies first, so the store's final checkpoint also drops the old
	// pages that held them.
	if err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`UPDATE jobs SET output = NULL, result = '{"erased":true}'
				WHERE instr(lower(CAST(output AS TEXT)), ?1) > 0 OR instr(lower(result), ?1) > 0`,
			`UPDATE audit_log SET detail = '{"erased":true}' WHERE instr(lower(detail), ?1) > 0`,
		} {
			if _, err := tx.ExecContext(ctx, q, e.Key); err != nil {
				return fmt.Errorf("erase copies of subscriber #%d: %w", p.ID, err)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	derr := s.store().Delete(ctx, e.Addr)
	if derr != nil && !errorsIsWALBusy(derr) {
		return mapStore(derr, "email", nil)
	}
	lists := make([]int64, 0, len(p.Subscriptions))
	for _, ss := range p.Subscriptions {
		lists = append(lists, ss.ListID)
	}
	if err := s.audit(ctx, a, auditEntry{Action: "subscriber.delete", ObjectKind: "subscriber", ObjectID: fmt.Sprint(p.ID),
		Detail: map[string]any{"lists": lists}}); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	// The audit entry went to the WAL after the store's checkpoint; fold it
	// in too, so the files hold no page from before the erasure.
	if err := s.d.Checkpoint(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("checkpoint after erasure", "err", err)
	}
	return nil
}
