package api

import (
	"encoding/json"
	"net/http"

	"github.com/tidings/tidings"
)

// auditJSON is one recorded change.
type auditJSON struct {
	ID         int64           `json:"id"`
	At         *string         `json:"at"`
	ActorKind  string          `json:"actor_kind"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectKind string          `json:"object_kind"`
	ObjectID   string          `json:"object_id"`
	List       *string         `json:"list"`
	Detail     json.RawMessage `json:"detail"`
	IP         string          `json:"ip"`
}

// getAudit lists recorded changes, newest first (?list=, keyset ?cursor=,
// ?limit=); admins only, decided by ops.
func getAudit(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		return err
	}
	es, next, err := s.ops.Audit(r.Context(), a, r.URL.Query().Get("list"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]auditJSON, 0, len(es))
	for _, e := range es {
		d := json.RawMessage("null")
		if e.Detail != "" && json.Valid([]byte(e.Detail)) {
			d = json.RawMessage(e.Detail)
		}
		out = append(out, auditJSON{ID: e.ID, At: timeOrNil(e.At), ActorKind: e.ActorKind, Actor: e.Actor,
			Action: e.Action, ObjectKind: e.ObjectKind, ObjectID: e.ObjectID, List: nilIfEmpty(e.ListSlug), Detail: d, IP: e.IP})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"entries": out, "next": nilIfEmpty(next)})
}
