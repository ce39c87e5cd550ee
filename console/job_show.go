package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

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
