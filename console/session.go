package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// sessionCookie holds the session id that ops.SignIn made; the session
// itself lives in the database, so signing out anywhere ends it.
const sessionCookie = "tidings_session"

type ctxKey int

const actorKey ctxKey = 1

// actorOf is the signed-in actor of a request that passed wrap.
func actorOf(r *http.Request) tidings.Actor {
	a, _ := r.Context().Value(actorKey).(tidings.Actor)
	return a
}

// signedIn reports whether the request carries a signed-in actor.
func signedIn(r *http.Request) bool {
	_, ok := r.Context().Value(actorKey).(tidings.Actor)
	return ok
}

// setSession gives the browser a freshly made session id. The cookie is
// the only place the id travels: HttpOnly, SameSite=Lax, and under /admin/.
func (h *handler) setSession(w http.ResponseWriter, s *ops.Session) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: s.ID, Path: prefix + "/",
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

func (h *handler) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: prefix + "/", MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// lookup resolves the session cookie to its actor; ok is false for no
// cookie or an ended session.
func (h *handler) lookup(r *http.Request) (tidings.Actor, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return tidings.Actor{}, false, nil
	}
	ip := clientIP(r)
	a, err := h.ops.SessionActor(r.Context(), c.Value, ip)
	if errors.Is(err, ops.ErrUnauthenticated) || errors.Is(err, ops.ErrNotFound) {
		return tidings.Actor{}, false, nil
	}
	if err != nil {
		return tidings.Actor{}, false, err
	}
	a.IP = ip
	return a, true, nil
}

// wrap resolves the session for every route; routes that need a signed-in
// user send the others to the sign-in page (GET) or answer 401.
func (h *handler) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok, err := h.lookup(r)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		if ok {
			r = r.WithContext(context.WithValue(r.Context(), actorKey, a))
		} else if rt.access == signedInOnly {
			h.clearSession(w)
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, prefix+"/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "err.unauthenticated", nil)
			return
		}
		rt.handle(h, w, r)
	})
}
