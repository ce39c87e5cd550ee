package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// linkPage is the data of link.html: the one-time link's set-password form.
type linkPage struct {
	Email, Value, Error string
	Min                 int
}

// linkShow shows whom the link is for and asks for a password. It must
// not use the link up: mail scanners open links with GET.
func (h *handler) linkShow(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("value")
	email, err := h.ops.SignInLink(r.Context(), v)
	if err != nil {
		h.linkFailed(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "link", view{Title: h.t(r, "link.title"),
		Data: linkPage{Email: email, Value: v, Min: form.MinPassword}})
}

func (h *handler) linkSubmit(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("value")
	f, err := form.ParseNewPassword(r, false)
	if err != nil {
		email, lerr := h.ops.SignInLink(r.Context(), v)
		if lerr != nil {
			h.linkFailed(w, r, lerr)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, "link", view{Title: h.t(r, "link.title"),
			Data: linkPage{Email: email, Value: v, Min: form.MinPassword, Error: h.formError(r, err)}})
		return
	}
	s, err := h.ops.UseSignInLink(r.Context(), v, f.New, clientIP(r), r.UserAgent())
	if err != nil {
		h.linkFailed(w, r, err)
		return
	}
	h.setSession(w, s)
	http.Redirect(w, r, prefix+"/?done=password", http.StatusSeeOther)
}

// linkFailed explains a dead link (unknown, expired, used) in one way:
// which of them it was is nobody's business.
func (h *handler) linkFailed(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := statusOf(err)
	if status >= 500 || status == http.StatusTooManyRequests {
		h.opsError(w, r, err)
		return
	}
	h.fail(w, r, http.StatusNotFound, "err.link", nil)
}
