package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/issues"
)

type importPage struct {
	Source  string
	Replace bool
	Error   string // translated or the importer's message
	Line    int    // the line the importer points at, 0 for none
	Text    string // that line of the file, to show beside the message
}

func (h *handler) issueImportShow(w http.ResponseWriter, r *http.Request) {
	l, err := h.ops.List(r.Context(), actorOf(r), r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "import", view{Title: h.t(r, "import.title"), List: l, Data: importPage{}})
}

// issueImportSubmit stores the Markdown as a new issue and shows its
// article list; the importer's errors come back with their line.
func (h *handler) issueImportSubmit(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	f, err := form.ParseImport(w, r)
	var is *tidings.Issue
	if err == nil {
		is, err = h.ops.ImportIssue(r.Context(), a, l.Slug, f.Name, f.Source, f.Replace)
	}
	if err == nil {
		back(w, r, "/admin/issues/"+itoa(is.ID), "imported")
		return
	}
	data := importPage{Replace: f.Replace, Error: h.formError(r, err)}
	if len(f.Source) < 256<<10 {
		data.Source = string(f.Source)
	}
	var pe *issues.ParseError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &pe):
		data.Line = pe.Line
		data.Error = h.importProblem(r, pe.Msg)
		if lines := strings.Split(string(f.Source), "\n"); pe.Line > 0 && pe.Line <= len(lines) {
			data.Text = strings.TrimRight(lines[pe.Line-1], "\r")
		}
	case errors.Is(err, form.ErrBad):
	default:
		var code int
		code, _ = statusOf(err)
		if code >= 500 || code == http.StatusForbidden || code == http.StatusNotFound {
			h.opsError(w, r, err)
			return
		}
		status = code
	}
	h.render(w, r, status, "import", view{Title: h.t(r, "import.title"), List: l, Data: data})
}
