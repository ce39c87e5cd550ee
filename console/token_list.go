package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

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
