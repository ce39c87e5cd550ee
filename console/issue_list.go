package console

import (
	"net/http"

	"github.com/tidings/tidings"
)

type issueListPage struct {
	Issues []tidings.Issue
}

// issueList is a list's issues, newest first, with the import button.
func (h *handler) issueList(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	is, err := h.ops.Issues(r.Context(), a, l.Slug)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "issues", view{Title: h.t(r, "issues.title"), List: l, Data: issueListPage{Issues: is}})
}
