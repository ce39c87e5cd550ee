package console

import (
	"net/http"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// homeShow is every list the user may see with its readers by status,
// next sends and last sends' figures.
func (h *handler) homeShow(w http.ResponseWriter, r *http.Request) {
	sums, err := h.ops.Home(r.Context(), actorOf(r))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := homePage{}
	for _, s := range sums {
		hl := homeList{ListSummary: s, Loc: s.List.Location()}
		for _, st := range allStatuses {
			hl.Counts = append(hl.Counts, statusCount{st, s.Counts[st]})
		}
		p.Lists = append(p.Lists, hl)
	}
	h.render(w, r, http.StatusOK, "home", view{Title: h.t(r, "home.title"), Data: p})
}

type homePage struct {
	Lists []homeList
}

type homeList struct {
	ops.ListSummary
	Counts []statusCount // shadows the map: in a fixed order
	Loc    *time.Location
}

type statusCount struct {
	Status tidings.Status
	N      int
}
