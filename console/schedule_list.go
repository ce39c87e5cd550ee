package console

import (
	"net/http"

	"github.com/tidings/tidings"
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
