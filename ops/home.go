package ops

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/report"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/subscribers"
)

// ListSummary is one list on the console's home page.
type ListSummary struct {
	List      tidings.List
	Counts    map[tidings.Status]int
	Next      []schedule.Schedule // next scheduled sends, soonest first
	LastSends []SendSummary       // most recent first
}

// SendSummary is one finished or running send with its figures.
type SendSummary struct {
	IssueID      int64
	Number       int
	Title        string
	State        string
	StartedAt    time.Time
	FinishedAt   time.Time
	Counts       mailer.Counts
	Bounced      int
	Unsubscribed int     // readers who left after this issue
	ClickRate    float64 // human clickers (or clicks) per delivered message; -1 when tracking is off
}

// Home shows at most this many next schedules and last sends per list.
const (
	homeNext  = 3
	homeSends = 3
)

// Home is the console's home page: every list the actor may see, with its
// subscriber counts by status (one GROUP BY on the subscriptions_by_status
// index per list), next scheduled sends and last sends with their figures.
func (s *Service) Home(ctx context.Context, a tidings.Actor) ([]ListSummary, error) {
	if err := authorize(a, PermView, 0); err != nil {
		return nil, err
	}
	lists, err := subscribers.NewStore(s.d).Lists(ctx)
	if err != nil {
		return nil, err
	}
	scheds, err := s.scheduleStore().List(ctx)
	if err != nil {
		return nil, err
	}
	out := []ListSummary{}
	for _, l := range lists {
		if !a.MayList(l.ID) {
			continue
		}
		ls := ListSummary{List: l, Counts: map[tidings.Status]int{}, Next: []schedule.Schedule{}, LastSends: []SendSummary{}}
		if err := s.statusCounts(ctx, l.ID, ls.Counts); err != nil {
			return nil, err
		}
		for _, sc := range scheds {
			if sc.ListID == l.ID && !sc.Next.IsZero() {
				ls.Next = append(ls.Next, sc)
			}
		}
		sort.SliceStable(ls.Next, func(i, j int) bool { return ls.Next[i].Next.Before(ls.Next[j].Next) })
		if len(ls.Next) > homeNext {
			ls.Next = ls.Next[:homeNext]
		}
		if ls.LastSends, err = s.lastSends(ctx, l.ID, homeSends); err != nil {
			return nil, err
		}
		out = append(out, ls)
	}
	return out, nil
}

func (s *Service) statusCounts(ctx context.Context, listID int64, into map[tidings.Status]int) error {
	rows, err := s.d.R.QueryContext(ctx, `SELECT status, count(*) FROM subscriptions INDEXED BY subscriptions_by_status
		WHERE list_id = ? GROUP BY status`, listID)
	if err != nil {
		return fmt.Errorf("subscriber counts: %w", err)
	}
	defer rows.Close()
	for _, st := range []tidings.Status{tidings.StatusPending, tidings.StatusConfirmed, tidings.StatusUnsubscribed, tidings.StatusBounced, tidings.StatusBlocked} {
		into[st] = 0
	}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return fmt.Errorf("subscriber counts: %w", err)
		}
		into[tidings.Status(st)] = n
	}
	return rows.Err()
}

// lastSends are the list's most recent sends, newest first. Unsubscribed
// is the report's figure: this issue's recipients who left between its
// send and the list's next.
func (s *Service) lastSends(ctx context.Context, listID int64, n int) ([]SendSummary, error) {
	rows, err := s.d.R.QueryContext(ctx, `SELECT i.id, i.number, i.title, sn.state, sn.started_at, coalesce(sn.finished_at, 0)
		FROM sends sn JOIN issues i ON i.id = sn.issue_id
		WHERE i.list_id = ? AND EXISTS (SELECT 1 FROM deliveries d WHERE d.issue_id = i.id)
		ORDER BY sn.started_at DESC, i.id DESC LIMIT ?`, listID, n)
	if err != nil {
		return nil, fmt.Errorf("last sends: %w", err)
	}
	out := []SendSummary{}
	for rows.Next() {
		var ss SendSummary
		var started, finished int64
		if err := rows.Scan(&ss.IssueID, &ss.Number, &ss.Title, &ss.State, &started, &finished); err != nil {
			rows.Close()
			return nil, fmt.Errorf("last sends: %w", err)
		}
		ss.StartedAt, ss.FinishedAt = db.Time(started), db.Time(finished)
		ss.ClickRate = -1
		out = append(out, ss)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("last sends: %w", err)
	}
	for i := range out {
		ss := &out[i]
		st, err := mailer.ReadStatus(ctx, s.d, ss.IssueID, 0)
		if err != nil {
			return nil, err
		}
		ss.Counts = st.Counts
		var hard, soft int
		err = s.d.R.QueryRowContext(ctx, `SELECT count(DISTINCT CASE WHEN kind = 'hard' THEN subscriber_id END),
			count(DISTINCT CASE WHEN kind = 'soft' THEN subscriber_id END) FROM bounces WHERE issue_id = ?`, ss.IssueID).Scan(&hard, &soft)
		if err != nil && err != sql.ErrNoRows {
			return nil, fmt.Errorf("bounces of issue %d: %w", ss.IssueID, err)
		}
		ss.Bounced = max(hard+soft, st.Bounced)
		// The report's own figure, so the home page and the report agree.
		if ss.Unsubscribed, err = report.Unsubscribed(ctx, s.d, ss.IssueID); err != nil {
			return nil, err
		}
		if ss.ClickRate, err = report.ClickRate(ctx, s.d, ss.IssueID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
