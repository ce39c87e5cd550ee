package console

import (
	"context"
	"net/http"

	"github.com/tidings/tidings"
)

func (h *handler) sendPause(w http.ResponseWriter, r *http.Request) {
	h.sendControl(w, r, h.ops.PauseSend, "paused")
}

func (h *handler) sendResume(w http.ResponseWriter, r *http.Request) {
	h.sendControl(w, r, h.ops.ResumeSend, "resumed")
}

// sendCancel skips every delivery not yet made, after a confirmation box.
func (h *handler) sendCancel(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
		h.fail(w, r, http.StatusUnprocessableEntity, "err.cancel.confirm", nil)
		return
	}
	h.sendControl(w, r, h.ops.CancelSend, "cancelled")
}

func (h *handler) sendControl(w http.ResponseWriter, r *http.Request, op func(context.Context, tidings.Actor, int64) error, done string) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := op(r.Context(), actorOf(r), id); err != nil {
		if _, ok := formStatus(w, err); ok {
			back(w, r, "/admin/issues/"+itoa(id)+"/progress", "conflict")
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"/progress", done)
}
