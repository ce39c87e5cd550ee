package console

import (
	"net/http"
)

func (h *handler) issueRetag(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := h.ops.Retag(r.Context(), actorOf(r), id); err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showIssue(w, r, id, code, "retag", err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id), "retagged")
}
