package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// sendNow hands the issue to the daemon and shows its progress.
func (h *handler) sendNow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
		h.showSendConfirm(w, r, id, http.StatusUnprocessableEntity, &form.Error{Field: "confirm", Key: "send.err.confirm"})
		return
	}
	if _, err := h.ops.SendNow(r.Context(), actorOf(r), id); err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showSendConfirm(w, r, id, code, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"/progress", "sending")
}
