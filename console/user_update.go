package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// userAdd adds an account; without a password it shows the one-time link
// to hand to the person (once: only its hash is stored).
func (h *handler) userAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseGrant(r, true)
	link := ""
	if err == nil {
		_, link, err = h.ops.AddUser(r.Context(), actorOf(r), ops.NewUser{Email: f.Name, Role: f.Role, Lists: f.Lists, Password: f.Password})
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showUsers(w, r, code, userListPage{Error: h.formError(r, err), Form: f})
			return
		}
		h.opsError(w, r, err)
		return
	}
	if link == "" {
		back(w, r, "/admin/users", "added")
		return
	}
	h.showUsers(w, r, http.StatusCreated, userListPage{Link: link})
}

// userLink gives an account a fresh one-time sign-in link (a lost
// password or a lost first link), shown once like a new account's.
func (h *handler) userLink(w http.ResponseWriter, r *http.Request) {
	link, err := h.ops.NewSignInLink(r.Context(), actorOf(r), r.PathValue("email"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	h.showUsers(w, r, http.StatusCreated, userListPage{Link: link})
}

// userAccess changes another account's role and lists (as `tidings user
// set`); it takes effect at that person's next request.
func (h *handler) userAccess(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseGrant(r, true)
	if err == nil {
		_, err = h.ops.SetUserAccess(r.Context(), actorOf(r), r.PathValue("email"), f.Role, f.Lists)
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showUsers(w, r, code, userListPage{Error: h.formError(r, err)})
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/users", "saved")
}

func (h *handler) userDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.ops.RemoveUser(r.Context(), actorOf(r), r.PathValue("email")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/users", "deleted")
}
