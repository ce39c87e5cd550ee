package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// signInPage is the data of signin.html.
type signInPage struct {
	Email, Next string
	Error       string // translated
	RetryAfter  string
}

func (h *handler) signInShow(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if signedIn(r) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", view{Title: h.t(r, "signin.title"), Data: signInPage{Next: next}})
}

// signInSubmit checks the address and password through ops, which limits
// attempts per address and per IP and answers unknown accounts and wrong
// passwords alike. Each sign-in gets a NEW session id: an id planted in
// the browser beforehand (session fixation) is never promoted.
func (h *handler) signInSubmit(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseSignIn(r)
	data := signInPage{Email: f.Email, Next: safeNext(f.Next)}
	if err != nil {
		data.Error = h.formError(r, err)
		h.render(w, r, http.StatusUnprocessableEntity, "signin", view{Title: h.t(r, "signin.title"), Data: data})
		return
	}
	s, err := h.ops.SignIn(r.Context(), f.Email, f.Password, clientIP(r), r.UserAgent())
	if err != nil {
		status, key := http.StatusUnauthorized, "signin.err.wrong"
		var rl *ops.RateLimitError
		switch {
		case errors.As(err, &rl):
			setRetryAfter(w, err)
			status, key = http.StatusTooManyRequests, "signin.err.many"
			data.RetryAfter = rl.RetryAfter.Round(1e9).String()
		case errors.Is(err, ops.ErrUnauthenticated), errors.Is(err, ops.ErrInvalid), errors.Is(err, ops.ErrNotFound):
		default:
			h.opsError(w, r, err)
			return
		}
		data.Error = h.t(r, key)
		h.clearSession(w)
		h.render(w, r, status, "signin", view{Title: h.t(r, "signin.title"), Data: data})
		return
	}
	h.setSession(w, s)
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}
