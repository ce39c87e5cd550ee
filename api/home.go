package api

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
)

// homeJSON is one list on the console's home page: subscriber counts by
// status, the next scheduled sends and the last sends with their figures.
type homeJSON struct {
	List      listJSON          `json:"list"`
	Counts    map[string]int    `json:"counts"`
	Next      []scheduleJSON    `json:"next"`
	LastSends []sendSummaryJSON `json:"last_sends"`
}

type sendSummaryJSON struct {
	Issue        int64         `json:"issue"`
	Number       int           `json:"number"`
	Title        string        `json:"title"`
	State        string        `json:"state"`
	StartedAt    *string       `json:"started_at"`
	FinishedAt   *string       `json:"finished_at"`
	Counts       mailer.Counts `json:"counts"`
	Bounced      int           `json:"bounced"`
	Unsubscribed int           `json:"unsubscribed"`
	// ClickRate is human clickers (or clicks) per delivered message; null
	// when the list does not track clicks.
	ClickRate *float64 `json:"click_rate"`
}

// getHome answers the home page of every list the token may see.
func getHome(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	hs, err := s.ops.Home(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]homeJSON, 0, len(hs))
	for _, h := range hs {
		j := homeJSON{List: toListJSON(&h.List), Counts: map[string]int{},
			Next: make([]scheduleJSON, 0, len(h.Next)), LastSends: make([]sendSummaryJSON, 0, len(h.LastSends))}
		for _, st := range []tidings.Status{tidings.StatusPending, tidings.StatusConfirmed, tidings.StatusUnsubscribed, tidings.StatusBounced, tidings.StatusBlocked} {
			j.Counts[string(st)] = h.Counts[st]
		}
		for i := range h.Next {
			j.Next = append(j.Next, toScheduleJSON(&h.Next[i]))
		}
		for _, x := range h.LastSends {
			ss := sendSummaryJSON{Issue: x.IssueID, Number: x.Number, Title: x.Title, State: x.State,
				StartedAt: timeOrNil(x.StartedAt), FinishedAt: timeOrNil(x.FinishedAt), Counts: x.Counts,
				Bounced: x.Bounced, Unsubscribed: x.Unsubscribed}
			if x.ClickRate >= 0 {
				rate := x.ClickRate
				ss.ClickRate = &rate
			}
			j.LastSends = append(j.LastSends, ss)
		}
		out = append(out, j)
	}
	return writeJSON(w, http.StatusOK, out)
}

// meJSON is who the token is: its name, role and lists (["all"] for every
// list), so that a client can show what it may do.
type meJSON struct {
	Kind  string   `json:"kind"`
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Lists []string `json:"lists"`
}

func getMe(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	out := meJSON{Kind: string(a.Kind), Name: a.Name, Role: string(a.Role), Lists: []string{"all"}}
	if !a.AllLists {
		ls, err := s.ops.Lists(r.Context(), a)
		if err != nil {
			return err
		}
		out.Lists = make([]string, 0, len(ls))
		for _, l := range ls {
			out.Lists = append(out.Lists, l.Slug)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
