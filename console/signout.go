package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/ops"
)

func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.ops.SignOut(r.Context(), c.Value); err != nil && !errors.Is(err, ops.ErrNotFound) {
			h.opsError(w, r, err)
			return
		}
	}
	h.clearSession(w)
	http.Redirect(w, r, prefix+"/signin?done=signedout", http.StatusSeeOther)
}
