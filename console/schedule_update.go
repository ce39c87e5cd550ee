package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// scheduleAdd adds a recurring schedule in the list's zone.
func (h *handler) scheduleAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseRecurring(r)
	if err == nil {
		_, err = h.ops.AddRecurring(r.Context(), actorOf(r), f.List, f.Cron, "")
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showSchedules(w, r, code, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/schedules", "added")
}

func (h *handler) scheduleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := h.ops.RemoveSchedule(r.Context(), actorOf(r), id); err != nil {
		h.opsError(w, r, err)
		return
	}
	to := safeNext(r.FormValue("back"))
	if to == prefix+"/" {
		to = "/admin/schedules"
	}
	back(w, r, to, "unscheduled")
}
