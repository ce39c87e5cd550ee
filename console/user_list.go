package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type userListPage struct {
	Users []ops.User
	Lists []tidings.List
	Link  string // a new user's one-time sign-in link, shown once
	Error string
	Form  form.Grant
}

// userList shows the console accounts (admins).
func (h *handler) userList(w http.ResponseWriter, r *http.Request) {
	h.showUsers(w, r, http.StatusOK, userListPage{})
}

func (h *handler) showUsers(w http.ResponseWriter, r *http.Request, status int, p userListPage) {
	a := actorOf(r)
	us, err := h.ops.Users(r.Context(), a)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p.Users = us
	p.Lists, _ = h.ops.Lists(r.Context(), a)
	h.render(w, r, status, "users", view{Title: h.t(r, "users.title"), Data: p})
}
