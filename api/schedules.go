package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/schedule"
)

// scheduleJSON is a schedule as `schedule ls --json` prints it (CONTRACT
// keys id, issue, cron, at, tz, next).
type scheduleJSON struct {
	ID          int64   `json:"id"`
	List        string  `json:"list"`
	Issue       *int64  `json:"issue"`
	IssueNumber *int    `json:"issue_number"`
	Cron        *string `json:"cron"`
	At          *string `json:"at"`
	TZ          string  `json:"tz"`
	Next        *string `json:"next"`
	LastRun     *string `json:"last_run"`
}

func toScheduleJSON(sc *schedule.Schedule) scheduleJSON {
	j := scheduleJSON{ID: sc.ID, List: sc.ListSlug, TZ: sc.TZ, Next: timeOrNil(sc.Next), LastRun: timeOrNil(sc.LastRun)}
	if sc.Recurring() {
		c := sc.Cron
		j.Cron = &c
	} else {
		id, n := sc.IssueID, sc.IssueNumber
		j.Issue, j.IssueNumber = &id, &n
		j.At = timeOrNil(sc.At)
	}
	return j
}

// oneOffRequest is the body of POST /issues/{id}/schedule.
type oneOffRequest struct {
	At string `json:"at"`
	TZ string `json:"tz"`
}

func postSchedule(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req oneOffRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.At) == "" {
		return invalid("at", "required: \"2006-01-02 15:04\", an RFC 3339 time or +DURATION")
	}
	sc, err := s.ops.Schedule(r.Context(), a, id, strings.TrimSpace(req.At), strings.TrimSpace(req.TZ))
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/schedules/"+strconv.FormatInt(sc.ID, 10))
	return writeJSON(w, http.StatusCreated, toScheduleJSON(sc))
}

// recurringRequest is the body of POST /lists/{list}/schedules.
type recurringRequest struct {
	Cron string `json:"cron"`
	TZ   string `json:"tz"`
}

func postRecurring(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var req recurringRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Cron) == "" {
		return invalid("cron", "required: \"MIN HOUR DOM MON DOW\"")
	}
	sc, err := s.ops.AddRecurring(r.Context(), a, r.PathValue("list"), strings.TrimSpace(req.Cron), strings.TrimSpace(req.TZ))
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/schedules/"+strconv.FormatInt(sc.ID, 10))
	return writeJSON(w, http.StatusCreated, toScheduleJSON(sc))
}

// getSchedules lists the schedules of the actor's lists (?list= one list).
func getSchedules(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	scs, err := s.ops.Schedules(r.Context(), a, r.URL.Query().Get("list"))
	if err != nil {
		return err
	}
	out := make([]scheduleJSON, 0, len(scs))
	for i := range scs {
		out = append(out, toScheduleJSON(&scs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func deleteSchedule(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.ops.RemoveSchedule(r.Context(), a, id); err != nil {
		return err
	}
	return noContent(w)
}
