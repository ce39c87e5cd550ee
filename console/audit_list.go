package console

import (
	"net/http"

	"github.com/tidings/tidings/ops"
)

type auditPage struct {
	Entries []ops.AuditEntry
	NextURL string
	List    string
}

// auditList is the audit log, newest first, by keyset (admins).
func (h *handler) auditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	es, next, err := h.ops.Audit(r.Context(), actorOf(r), q.Get("list"), q.Get("cursor"), 100)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := auditPage{Entries: es, List: q.Get("list")}
	if next != "" {
		p.NextURL = "/admin/audit?list=" + urlQuery(q.Get("list")) + "&cursor=" + urlQuery(next)
	}
	h.render(w, r, http.StatusOK, "audit", view{Title: h.t(r, "audit.title"), Data: p})
}
