package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/schedule"
)

type scheduleListPage struct {
	Schedules []schedule.Schedule
	Lists     map[string]tidings.List
	Error     string
}

// scheduleList shows every schedule of the user's lists with next runs.
func (h *handler) scheduleList(w http.ResponseWriter, r *http.Request) {
	h.showSchedules(w, r, http.StatusOK, nil)
}

func (h *handler) showSchedules(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	a := actorOf(r)
	ss, err := h.ops.Schedules(r.Context(), a, "")
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := scheduleListPage{Schedules: ss, Lists: map[string]tidings.List{}}
	ls, _ := h.ops.Lists(r.Context(), a)
	for _, l := range ls {
		p.Lists[l.Slug] = l
	}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "schedules", view{Title: h.t(r, "schedules.title"), Data: p})
}

// scheduleAdd adds a recurring schedule in the list's zone.
func (h *handler) scheduleAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseRecurring(r)
	if err == nil {
		_, err = h.ops.AddRecurring(r.Context(), actorOf(r), f.List, f.Cron, "")
	}
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) {
			h.showSchedules(w, r, http.StatusUnprocessableEntity, err)
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
