package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// issueSchedule schedules a one-off send at a time in the list's zone.
func (h *handler) issueSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	f, err := form.ParseSchedule(r)
	if err == nil {
		_, err = h.ops.Schedule(r.Context(), actorOf(r), id, f.At, "")
	}
	if err != nil {
		h.formFailed(w, r, id, "schedule", err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#schedule", "scheduled")
}
