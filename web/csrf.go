package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
)

// CSRF protection is a double-submit cookie bound by HMAC to the page: the
// cookie holds a random browser id, each form carries
// HMAC(key, id ‖ path). A cross-site page can make the browser send the
// cookie but cannot read it, so it cannot compute the field; and a field
// copied from one page does not work on another path (another token).
// The RFC 8058 one-click POST is exempt: mailbox providers send no cookie.

const (
	csrfCookie = "tidings_csrf"
	csrfField  = "csrf"
)

func (s *Server) csrfMAC(id, path string) string {
	h := hmac.New(sha256.New, s.cfg.CSRFKey)
	h.Write([]byte("tidings-csrf-v1\x00"))
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(path))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:24])
}

// csrfToken is the form field for this page, setting the cookie when the
// browser has none yet.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	id := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 32 {
		id = c.Value
	}
	if id == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		id = hex.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name:     csrfCookie,
			Value:    id,
			Path:     s.prefix + "/",
			HttpOnly: true,
			Secure:   r.TLS != nil || s.secureBase(),
			SameSite: http.SameSiteLaxMode,
		})
	}
	return s.csrfMAC(id, r.URL.Path)
}

// csrfOK checks the submitted field against the cookie.
func (s *Server) csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || len(c.Value) != 32 {
		return false
	}
	got := r.PostFormValue(csrfField)
	return got != "" && hmac.Equal([]byte(got), []byte(s.csrfMAC(c.Value, r.URL.Path)))
}

func (s *Server) secureBase() bool {
	return len(s.cfg.Links.Base) > 8 && s.cfg.Links.Base[:8] == "https://"
}
