package console

import (
	"net/http"
)

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
