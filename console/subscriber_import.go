package console

import (
	"errors"
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
	ts, _ := h.ops.Topics(r.Context(), a, l.Slug)
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
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) {
			h.showSubscriberImport(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/jobs/"+itoa(job.ID), "")
}

// subscriberExport starts an export job (admins); its page offers the file.
func (h *handler) subscriberExport(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "err.invalid", err)
		return
	}
	format := r.PostForm.Get("format")
	if format != "json" {
		format = "csv"
	}
	job, err := h.ops.StartExport(r.Context(), actorOf(r), r.PathValue("list"), format)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/jobs/"+itoa(job.ID), "")
}

type jobPage struct {
	J      *ops.Job
	Active bool
}

func (h *handler) jobShow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	a := actorOf(r)
	j, err := h.ops.Job(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	var l *tidings.List
	if j.ListSlug != "" {
		l, _ = h.ops.List(r.Context(), a, j.ListSlug)
	}
	h.render(w, r, http.StatusOK, "job", view{Title: h.t(r, "job.title."+j.Kind), List: l,
		Data: jobPage{J: j, Active: j.State == "queued" || j.State == "running"}})
}

func (h *handler) jobJSON(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	j, err := h.ops.Job(r.Context(), actorOf(r), id)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": j.State, "total": j.Total, "done": j.Done,
		"percent": percent(j.Done, j.Total)})
}

// jobDownload is a finished export's file, streamed as ops writes it.
func (h *handler) jobDownload(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	lw := &lazyWriter{w: w, name: "export-" + itoa(id)}
	if _, err := h.ops.JobOutput(r.Context(), actorOf(r), id, lw); err != nil {
		if lw.wrote {
			h.log.Error("console: export cut short", "job", id, "err", err)
			return
		}
		h.opsError(w, r, err)
	}
}

// lazyWriter sets the download headers right before the first byte (the
// format shows in it), so a failure before any output still gets a
// proper error page.
type lazyWriter struct {
	w     http.ResponseWriter
	name  string
	wrote bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.wrote && len(p) > 0 {
		l.wrote = true
		ct, ext := "text/csv; charset=utf-8", ".csv"
		if p[0] == '[' || p[0] == '{' {
			ct, ext = "application/json", ".json"
		}
		l.w.Header().Set("Content-Type", ct)
		l.w.Header().Set("Content-Disposition", `attachment; filename="`+l.name+ext+`"`)
	}
	return l.w.Write(p)
}
