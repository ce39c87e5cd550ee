package console

import (
	"net/http"
)

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
