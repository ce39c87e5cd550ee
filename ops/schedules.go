package ops

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/schedule"
)

func (s *Service) scheduleStore() *schedule.Store {
	st := schedule.NewStore(s.d)
	st.Now = s.now
	return st
}

// Schedule schedules a one-off send of the issue at a time written as the
// CLI's --at takes it ("2006-01-02 15:04[:05]", RFC 3339 or +DURATION), in
// tz ("" = the list's zone).
func (s *Service) Schedule(ctx context.Context, a tidings.Actor, issueID int64, at, tz string) (*schedule.Schedule, error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if errors.Is(err, ErrNotFound) {
		// As the schedule store words it, which the CLI has always printed.
		return nil, as(ErrNotFound, fmt.Errorf("issue %d not found (see tidings issue ls)", issueID))
	}
	if err != nil {
		return nil, err
	}
	st := s.scheduleStore()
	tz = strings.TrimSpace(tz)
	zone := tz
	if zone == "" {
		if zone, err = st.IssueZone(ctx, issueID); err != nil {
			return nil, storeErr(err, "")
		}
	}
	loc, err := schedule.LoadZone(zone)
	if err != nil {
		return nil, storeErr(err, "tz")
	}
	if strings.TrimSpace(at) == "" {
		return nil, Invalid("at", "give a time: \"2006-01-02 15:04\" in %s, RFC 3339 or +DURATION", zone)
	}
	when, err := schedule.ParseTime(at, loc, s.now())
	if err != nil {
		return nil, storeErr(err, "at")
	}
	sc, err := st.AddOnce(ctx, issueID, when, tz)
	if err != nil {
		return nil, storeErr(err, "at")
	}
	err = s.audit(ctx, a, auditEntry{Action: "schedule.add", ObjectKind: "schedule", ObjectID: strconv.FormatInt(sc.ID, 10), ListID: listID,
		Detail: map[string]any{"issue": issueID, "at": sc.At.Format("2006-01-02T15:04:05Z07:00"), "tz": sc.TZ}})
	return sc, err
}

// AddRecurring adds a cron schedule to a list: at each tick every ready
// issue of the list is sent.
func (s *Service) AddRecurring(ctx context.Context, a tidings.Actor, listSlug, spec, tz string) (*schedule.Schedule, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermEdit)
	if err != nil {
		return nil, err
	}
	tz = strings.TrimSpace(tz)
	if tz != "" {
		if _, err := schedule.LoadZone(tz); err != nil {
			return nil, storeErr(err, "tz")
		}
	}
	if strings.TrimSpace(spec) == "" {
		return nil, Invalid("cron", "give a cron expression \"MIN HOUR DOM MON DOW\", e.g. \"0 8 * * 1\"")
	}
	sc, err := s.scheduleStore().AddCron(ctx, l.ID, spec, tz)
	if err != nil {
		return nil, storeErr(err, "cron")
	}
	err = s.audit(ctx, a, auditEntry{Action: "schedule.add", ObjectKind: "schedule", ObjectID: strconv.FormatInt(sc.ID, 10), ListID: l.ID,
		Detail: map[string]any{"cron": sc.Cron, "tz": sc.TZ}})
	return sc, err
}

// Schedules are the pending and recurring schedules of the actor's lists
// ("" = every list the actor may see), by id.
func (s *Service) Schedules(ctx context.Context, a tidings.Actor, listSlug string) ([]schedule.Schedule, error) {
	var only int64
	if listSlug != "" {
		l, err := s.resolveList(ctx, a, listSlug, PermView)
		if err != nil {
			return nil, err
		}
		only = l.ID
	} else if err := authorize(a, PermView, 0); err != nil {
		return nil, err
	}
	all, err := s.scheduleStore().List(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, sc := range all {
		if (only == 0 || sc.ListID == only) && a.MayList(sc.ListID) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// RemoveSchedule removes a schedule, putting a one-off's issue back to
// draft or ready.
func (s *Service) RemoveSchedule(ctx context.Context, a tidings.Actor, id int64) error {
	st := s.scheduleStore()
	sc, err := st.Get(ctx, id)
	if err != nil {
		return storeErr(err, "")
	}
	if err := authorize(a, PermEdit, sc.ListID); err != nil {
		return err
	}
	if err := st.Remove(ctx, id); err != nil {
		return storeErr(err, "")
	}
	detail := map[string]any{}
	if sc.Recurring() {
		detail["cron"] = sc.Cron
	} else {
		detail["issue"] = sc.IssueID
	}
	return s.audit(ctx, a, auditEntry{Action: "schedule.rm", ObjectKind: "schedule", ObjectID: strconv.FormatInt(id, 10), ListID: sc.ListID, Detail: detail})
}
