package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/ops"
)

func (h *handler) issueRetag(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := h.ops.Retag(r.Context(), actorOf(r), id); err != nil {
		if errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			code, _ := statusOf(err)
			h.showIssue(w, r, id, code, "retag", err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id), "retagged")
}
