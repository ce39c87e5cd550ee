package console

import (
	"errors"
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

// userAdd adds an account; without a password it shows the one-time link
// to hand to the person (once: only its hash is stored).
func (h *handler) userAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseGrant(r, true)
	link := ""
	if err == nil {
		_, link, err = h.ops.AddUser(r.Context(), actorOf(r), ops.NewUser{Email: f.Name, Role: f.Role, Lists: f.Lists, Password: f.Password})
	}
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			h.showUsers(w, r, http.StatusUnprocessableEntity, userListPage{Error: h.formError(r, err), Form: f})
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

func (h *handler) userDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.ops.RemoveUser(r.Context(), actorOf(r), r.PathValue("email")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/users", "deleted")
}

type tokenListPage struct {
	Tokens []ops.Token
	Lists  []tidings.List
	Secret string // the new token, shown this once
	Name   string
	Error  string
	Form   form.Grant
}

func (h *handler) tokenList(w http.ResponseWriter, r *http.Request) {
	h.showTokens(w, r, http.StatusOK, tokenListPage{})
}

func (h *handler) showTokens(w http.ResponseWriter, r *http.Request, status int, p tokenListPage) {
	a := actorOf(r)
	ts, err := h.ops.Tokens(r.Context(), a)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p.Tokens = ts
	p.Lists, _ = h.ops.Lists(r.Context(), a)
	h.render(w, r, status, "tokens", view{Title: h.t(r, "tokens.title"), Data: p})
}

// tokenAdd makes an API token and shows its secret once, in this answer
// (never in a redirect's address, where it would land in logs).
func (h *handler) tokenAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseGrant(r, false)
	var secret string
	if err == nil {
		_, secret, err = h.ops.AddToken(r.Context(), actorOf(r), f.Name, f.Role, f.Lists)
	}
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			h.showTokens(w, r, http.StatusUnprocessableEntity, tokenListPage{Error: h.formError(r, err), Form: f})
			return
		}
		h.opsError(w, r, err)
		return
	}
	h.showTokens(w, r, http.StatusCreated, tokenListPage{Secret: secret, Name: f.Name})
}

func (h *handler) tokenDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.ops.RemoveToken(r.Context(), actorOf(r), r.PathValue("name")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/tokens", "deleted")
}

type auditPage struct {
	Entries []ops.AuditEntry
	NextURL string
	List    string
}

// auditList is the audit log, newest first, by keyset (admins).
func (h *handler) auditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	es, next, err := h.ops.Audit(r.Context(), actorOf(r), q.Get("list"), q.Get("cursor"), 100)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := auditPage{Entries: es, List: q.Get("list")}
	if next != "" {
		p.NextURL = "/admin/audit?list=" + urlQuery(q.Get("list")) + "&cursor=" + urlQuery(next)
	}
	h.render(w, r, http.StatusOK, "audit", view{Title: h.t(r, "audit.title"), Data: p})
}
