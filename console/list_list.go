package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
)

type listListPage struct {
	All   []tidings.List
	Error string
	Form  form.List
}

// listList shows every list the user may see, and (admins) adds one.
func (h *handler) listList(w http.ResponseWriter, r *http.Request) {
	h.showLists(w, r, http.StatusOK, form.List{Lang: tidings.LangZH, TZ: "Asia/Shanghai"}, nil)
}

func (h *handler) showLists(w http.ResponseWriter, r *http.Request, status int, f form.List, ferr error) {
	ls, err := h.ops.Lists(r.Context(), actorOf(r))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := listListPage{All: ls, Form: f}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "lists", view{Title: h.t(r, "lists.title"), Data: p})
}
