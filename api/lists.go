package api

import (
	"net/http"
	"strings"

	"github.com/tidings/tidings"
)

// listJSON is a list as `list ls --json` prints it, plus its settings.
// The DKIM key never leaves the database: only whether the list has one.
type listJSON struct {
	Slug         string `json:"slug"`
	Name         string `json:"name"`
	From         string `json:"from"`
	Lang         string `json:"lang"`
	TZ           string `json:"tz"`
	ReplyTo      string `json:"reply_to"`
	Address      string `json:"address"`
	Clicks       string `json:"clicks"`
	Opens        string `json:"opens"`
	ActivityDays int    `json:"activity_days"`
	DKIMSelector string `json:"dkim_selector"`
	DKIMKey      bool   `json:"dkim_key"`
	Subscribers  int    `json:"subscribers"`
}

func toListJSON(l *tidings.List) listJSON {
	return listJSON{
		Slug: l.Slug, Name: l.Name, From: l.From, Lang: string(l.Lang), TZ: l.TZ,
		ReplyTo: l.ReplyTo, Address: l.Address, Clicks: string(l.Clicks), Opens: string(l.Opens),
		ActivityDays: l.ActivityDays, DKIMSelector: l.DKIMSelector, DKIMKey: l.DKIMKey != "",
		Subscribers: l.Subscribers,
	}
}

// listChange is the body of POST /lists and PATCH /lists/{list}: absent
// fields stay as they are (PATCH) or take the defaults (POST).
type listChange struct {
	Slug         *string `json:"slug"`
	Name         *string `json:"name"`
	From         *string `json:"from"`
	Lang         *string `json:"lang"`
	TZ           *string `json:"tz"`
	ReplyTo      *string `json:"reply_to"`
	Address      *string `json:"address"`
	Clicks       *string `json:"clicks"`
	Opens        *string `json:"opens"`
	ActivityDays *int    `json:"activity_days"`
	// DKIMSelector and DKIMKey (PEM) set the list's own signing key; both
	// empty strings remove it. Write-only.
	DKIMSelector *string `json:"dkim_selector"`
	DKIMKey      *string `json:"dkim_key"`
}

// apply checks the fields' forms and copies them onto l; ops checks the
// rest (a valid From address, a known zone) against the database.
func (c *listChange) apply(l *tidings.List) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&l.Name, c.Name)
	set(&l.From, c.From)
	set(&l.TZ, c.TZ)
	set(&l.ReplyTo, c.ReplyTo)
	set(&l.Address, c.Address)
	if c.Lang != nil {
		lang, err := tidings.ParseLang(*c.Lang)
		if err != nil {
			return invalid("lang", "%v", err)
		}
		l.Lang = lang
	}
	if c.Clicks != nil {
		t, err := tidings.ParseTracking(*c.Clicks)
		if err != nil {
			return invalid("clicks", "%v", err)
		}
		l.Clicks = t
	}
	if c.Opens != nil {
		t, err := tidings.ParseTracking(*c.Opens)
		if err != nil {
			return invalid("opens", "%v", err)
		}
		l.Opens = t
	}
	if c.ActivityDays != nil {
		if *c.ActivityDays < 1 || *c.ActivityDays > 3650 {
			return invalid("activity_days", "%d: want 1 to 3650 days", *c.ActivityDays)
		}
		l.ActivityDays = *c.ActivityDays
	}
	if (c.DKIMSelector == nil) != (c.DKIMKey == nil) {
		return invalid("dkim_key", "give dkim_selector and dkim_key together")
	}
	if c.DKIMKey != nil {
		l.DKIMSelector, l.DKIMKey = strings.TrimSpace(*c.DKIMSelector), strings.TrimSpace(*c.DKIMKey)
		if (l.DKIMSelector == "") != (l.DKIMKey == "") {
			return invalid("dkim_key", "give both a selector and a PEM key, or both empty to remove the list's key")
		}
	}
	return nil
}

func getLists(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	ls, err := s.ops.Lists(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]listJSON, 0, len(ls))
	for i := range ls {
		out = append(out, toListJSON(&ls[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func getList(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	l, err := s.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toListJSON(l))
}

func postList(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var c listChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Slug == nil || strings.TrimSpace(*c.Slug) == "" {
		return invalid("slug", "required")
	}
	if c.Name == nil || strings.TrimSpace(*c.Name) == "" {
		return invalid("name", "required")
	}
	if c.From == nil || strings.TrimSpace(*c.From) == "" {
		return invalid("from", "required: \"Name <addr@example.org>\"")
	}
	l := &tidings.List{Slug: strings.TrimSpace(*c.Slug), Lang: tidings.LangZH,
		Clicks: tidings.TrackAggregate, Opens: tidings.TrackOff}
	if err := c.apply(l); err != nil {
		return err
	}
	if err := s.ops.CreateList(r.Context(), a, l); err != nil {
		return err
	}
	got, err := s.ops.List(r.Context(), a, l.Slug)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/lists/"+got.Slug)
	return writeJSON(w, http.StatusCreated, toListJSON(got))
}

func patchList(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var c listChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Slug != nil {
		return invalid("slug", "a list's slug cannot change (its links are in mail already sent)")
	}
	l, err := s.ops.UpdateList(r.Context(), a, r.PathValue("list"), c.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toListJSON(l))
}

func deleteList(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	force, err := queryBool(r, "force")
	if err != nil {
		return err
	}
	if err := s.ops.DeleteList(r.Context(), a, r.PathValue("list"), force); err != nil {
		return err
	}
	return noContent(w)
}
