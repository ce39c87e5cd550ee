package console

import (
	"net/http"

	"github.com/tidings/tidings"
)

// languageUpdate switches the console's language: stored with the user
// when signed in, and in a cookie for the sign-in page.
func (h *handler) languageUpdate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "err.invalid", err)
		return
	}
	l, err := tidings.ParseLang(r.PostForm.Get("lang"))
	if err != nil {
		h.fail(w, r, http.StatusUnprocessableEntity, "err.invalid", err)
		return
	}
	if signedIn(r) {
		if err := h.ops.SetLanguage(r.Context(), actorOf(r), string(l)); err != nil {
			h.opsError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: prefix + "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(r.PostForm.Get("back")), http.StatusSeeOther)
}
