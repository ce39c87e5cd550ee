package api

import (
	"net/http"

	"github.com/tidings/tidings"
)

// bounceJSON is one bounce or complaint.
type bounceJSON struct {
	ID         int64   `json:"id"`
	Email      string  `json:"email"`
	List       string  `json:"list"`
	Issue      *int64  `json:"issue"`
	Kind       string  `json:"kind"`
	Code       string  `json:"code"`
	Diagnostic string  `json:"diagnostic"`
	Source     string  `json:"source"`
	At         *string `json:"at"`
}

// getBounces lists the list's bounces and complaints, newest first
// (?kind=hard|soft|complaint, keyset ?cursor=, ?limit=).
func getBounces(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	q := r.URL.Query()
	kind := q.Get("kind")
	switch kind {
	case "", "hard", "soft", "complaint":
	default:
		return invalid("kind", "%q: want hard, soft or complaint", kind)
	}
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	bs, next, err := s.ops.Bounces(r.Context(), a, r.PathValue("list"), kind, q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]bounceJSON, 0, len(bs))
	for _, b := range bs {
		j := bounceJSON{ID: b.ID, Email: b.Email, List: b.ListSlug, Kind: b.Kind, Code: b.Code,
			Diagnostic: b.Diagnostic, Source: b.Source, At: timeOrNil(b.At)}
		if b.IssueID != 0 {
			id := b.IssueID
			j.Issue = &id
		}
		out = append(out, j)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"bounces": out, "next": nilIfEmpty(next)})
}

// nilIfEmpty is a cursor, or null on the last page.
func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
