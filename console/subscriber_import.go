package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type subscriberImportPage struct {
	Topics []tidings.Topic
	Error  string
}

// subscriberImportShow is the CSV upload form (admins).
func (h *handler) subscriberImportShow(w http.ResponseWriter, r *http.Request) {
	h.showSubscriberImport(w, r, http.StatusOK, nil)
}

func (h *handler) showSubscriberImport(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	ts, _ := h.ops.TopicChoices(r.Context(), a, l.Slug)
	p := subscriberImportPage{Topics: ts}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "subscriber_import", view{Title: h.t(r, "subimport.title"), List: l, Data: p})
}

// subscriberImportSubmit starts the import as a background job (a dry
// run writes nothing) and shows its progress and error report.
func (h *handler) subscriberImportSubmit(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseSubscriberImport(w, r)
	var job *ops.Job
	if err == nil {
		job, err = h.ops.StartImport(r.Context(), actorOf(r), r.PathValue("list"), f.Data,
			ops.ImportRequest{DefaultTopics: f.Topics, DryRun: f.DryRun})
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showSubscriberImport(w, r, code, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/jobs/"+itoa(job.ID), "")
}
