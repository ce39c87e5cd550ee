package console

import (
	"net/http"
)

// issueReady marks a draft ready: the list's recurring schedule sends it
// at its next run.
func (h *handler) issueReady(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := h.ops.MarkReady(r.Context(), actorOf(r), id); err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showIssue(w, r, id, code, "schedule", err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#schedule", "ready")
}
