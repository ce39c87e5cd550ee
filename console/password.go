package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type passwordPage struct {
	Error string
	Min   int
}

func (h *handler) passwordShow(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "password", view{Title: h.t(r, "password.title"), Data: passwordPage{Min: form.MinPassword}})
}

// passwordUpdate changes the user's password; ops ends every session of
// the user and returns a fresh one for this browser.
func (h *handler) passwordUpdate(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseNewPassword(r, true)
	if err == nil {
		var s *ops.Session
		s, err = h.ops.ChangePassword(r.Context(), actorOf(r), f.Old, f.New, clientIP(r), r.UserAgent())
		if err == nil {
			h.setSession(w, s)
			http.Redirect(w, r, prefix+"/password?done=password", http.StatusSeeOther)
			return
		}
		if errors.Is(err, ops.ErrUnauthenticated) {
			err = &form.Error{Field: "old", Key: "password.err.old"}
		} else if !errors.Is(err, ops.ErrInvalid) && !errors.Is(err, ops.ErrRateLimited) {
			h.opsError(w, r, err)
			return
		}
	}
	status := http.StatusUnprocessableEntity
	if errors.Is(err, ops.ErrRateLimited) {
		status = http.StatusTooManyRequests
		setRetryAfter(w, err)
	}
	h.render(w, r, status, "password", view{Title: h.t(r, "password.title"),
		Data: passwordPage{Min: form.MinPassword, Error: h.formError(r, err)}})
}
