package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// subscriberErase erases every trace of the person (admins; ops checks),
// after the box that says so is ticked.
func (h *handler) subscriberErase(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
		h.showSubscriber(w, r, http.StatusUnprocessableEntity, &form.Error{Field: "confirm", Key: "sub.err.confirm"})
		return
	}
	if err := h.ops.DeleteSubscriber(r.Context(), actorOf(r), r.PathValue("email")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/", "erased")
}
