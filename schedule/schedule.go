// Package schedule decides when issues are sent: one-off schedules (one
// issue at an instant) and recurring ones (a cron expression in a zone that,
// at each tick, sends every issue of its list marked ready), both stored in
// SQLite so the CLI can change them while the daemon runs.
//
// The Scheduler is a polling loop rather than a cron runner: every second or
// two it re-reads the schedules table, so an edit made by `tidings schedule`
// in another process applies within seconds, and robfig/cron is used only to
// compute the next instant of an expression in its zone. Each schedule keeps
// the instant it last handled (last_run), written in the same transaction
// that marks its issues "sending"; a restart therefore never runs a tick
// twice, and a send cut short is resumed from the delivery log. A run that
// fell while the daemon was down happens once at start when it is less than
// the grace period late; older misses are logged and skipped.
//
// Only one process per database sends: the holder of the "sender" lease in
// table leases. A second daemon waits as a standby and takes over when the
// holder's lease runs out.
package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

var (
	// ErrNotFound: no such schedule, issue or list.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a cron expression, zone or time was refused.
	ErrInvalid = errors.New("invalid")
	// ErrPast: a one-off time that is not in the future.
	ErrPast = errors.New("time is in the past")
	// ErrState: the issue cannot be scheduled in its current status
	// (already sent, being sent, or scheduled by another schedule).
	ErrState = errors.New("wrong issue status")
	// ErrNotOurs: a Sender's answer (wrapped) when the send belongs to
	// another process, started with other settings (relays, key, rate):
	// the daemon leaves it alone, says so as a warning, and looks again
	// later, rather than reporting a failure.
	ErrNotOurs = errors.New("send belongs to a process with other settings")
)

// kindError reads on its own in a terminal yet matches its sentinel.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func errorf(kind error, format string, a ...any) error {
	return &kindError{kind, fmt.Sprintf(format, a...)}
}

// Schedule is one row of the schedules table, with its next run computed.
type Schedule struct {
	ID          int64
	ListID      int64
	ListSlug    string
	IssueID     int64 // one-off: the issue; recurring: 0
	IssueNumber int
	Cron        string    // recurring: the expression; one-off: ""
	At          time.Time // one-off: the instant, in the schedule's zone
	TZ          string
	LastRun     time.Time // the scheduled instant last handled; zero when never
	Done        bool      // one-off: fired (or skipped as too late)
	CreatedAt   time.Time
	// Next is the next instant this schedule runs, in its zone; zero when
	// it never runs again.
	Next time.Time
}

// Recurring reports whether s is a cron schedule.
func (s *Schedule) Recurring() bool { return s.Cron != "" }

// LoadZone resolves an IANA zone name. "Local" is the machine's zone.
func LoadZone(name string) (*time.Location, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errorf(ErrInvalid, "time zone is empty: give an IANA name such as Asia/Shanghai")
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errorf(ErrInvalid, "unknown time zone %q: give an IANA name such as Asia/Shanghai or Europe/Berlin", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones caches loaded zones: time.LoadLocation reads the zone file each
// time, and the scheduler resolves every schedule's zone at every poll.
var zones sync.Map

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron parses a standard five-field cron expression (or a descriptor
// such as @daily) whose instants are computed in loc. Zone prefixes
// (CRON_TZ=, TZ=) are refused — the zone is a separate setting, and a bare
// prefix makes robfig/cron panic; a panic is recovered all the same.
func ParseCron(spec string, loc *time.Location) (sched cron.Schedule, err error) {
	spec = strings.Join(strings.Fields(spec), " ")
	if spec == "" {
		return nil, errorf(ErrInvalid, "cron expression is empty: want \"MIN HOUR DOM MON DOW\", e.g. \"0 8 * * 1\"")
	}
	if up := strings.ToUpper(spec); strings.HasPrefix(up, "CRON_TZ=") || strings.HasPrefix(up, "TZ=") {
		return nil, errorf(ErrInvalid, "cron expression %q: give the zone with --tz, not inside the expression", spec)
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, errorf(ErrInvalid, "cron expression %q: %v", spec, r)
		}
	}()
	s, err := cronParser.Parse(spec)
	if err != nil {
		return nil, errorf(ErrInvalid, "cron expression %q: %v (want \"MIN HOUR DOM MON DOW\", e.g. \"0 8 * * 1\")", spec, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	z := &zoned{s: s, loc: loc}
	if z.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		// e.g. "0 0 30 2 *": February 30th never comes.
		return nil, errorf(ErrInvalid, "cron expression %q never matches a date", spec)
	}
	return z, nil
}

// zoned computes a cron expression's instants in a zone with the wall
// clock moving forward only. robfig/cron fires "30 1 * * *" twice on the
// night clocks fall back (01:30 EDT, then 01:30 EST); like classic cron,
// an instant whose wall-clock time is not after the previous one's is
// skipped. An instant inside a spring-forward gap does not exist and is
// skipped that day (robfig/cron's own behaviour).
type zoned struct {
	s   cron.Schedule
	loc *time.Location
}

func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func (z *zoned) Next(t time.Time) time.Time {
	t = t.In(z.loc)
	n := z.s.Next(t)
	for i := 0; i < 1000 && !n.IsZero() && !wall(n).After(wall(t)); i++ {
		n = z.s.Next(n)
	}
	if n.IsZero() {
		return n
	}
	return n.In(z.loc)
}

// Next is the first instant of sched strictly after t, in loc.
func Next(sched cron.Schedule, t time.Time, loc *time.Location) time.Time {
	n := sched.Next(t.In(loc))
	if n.IsZero() {
		return n
	}
	return n.In(loc)
}

// ParseTime reads a --at value (CONTRACT.md): "2006-01-02 15:04" or
// "2006-01-02 15:04:05" in loc, an RFC 3339 time, or "+DURATION" from now.
func ParseTime(s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutPrefix(s, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return time.Time{}, errorf(ErrInvalid, "time %q: want a positive duration after '+', e.g. +90s or +2h", s)
		}
		return now.Add(dur).In(loc), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	return time.Time{}, errorf(ErrInvalid, "time %q: want \"2006-01-02 15:04\", \"2006-01-02 15:04:05\", RFC 3339 or +DURATION", s)
}

// Store reads and edits the schedules table.
type Store struct {
	d   *db.DB
	Now func() time.Time
}

// NewStore returns a store on d using d's clock.
func NewStore(d *db.DB) *Store {
	s := &Store{d: d, Now: d.Now}
	if s.Now == nil {
		s.Now = time.Now
	}
	return s
}

// AddOnce schedules issue issueID to be sent at at. tz names the zone the
// schedule is shown in; "" means the list's zone. The issue must be a
// draft or ready; it becomes "scheduled" until the send starts or the
// schedule is removed.
func (s *Store) AddOnce(ctx context.Context, issueID int64, at time.Time, tz string) (*Schedule, error) {
	now := s.Now()
	var id int64
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var listID int64
		var number int
		var status, listTZ string
		var sentAt sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT i.list_id, i.number, i.status, i.sent_at, l.tz
			FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?`, issueID).
			Scan(&listID, &number, &status, &sentAt, &listTZ)
		if errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "issue %d not found", issueID)
		}
		if err != nil {
			return fmt.Errorf("read issue %d: %w", issueID, err)
		}
		if tz == "" {
			tz = zoneOr(listTZ)
		}
		if _, err := LoadZone(tz); err != nil {
			return err
		}
		if !at.After(now) {
			return errorf(ErrPast, "time %s is in the past (now %s): give a future time or +DURATION",
				at.Format("2006-01-02 15:04:05 MST"), now.In(at.Location()).Format("2006-01-02 15:04:05 MST"))
		}
		switch tidings.IssueStatus(status) {
		case tidings.IssueDraft, tidings.IssueReady:
		case tidings.IssueSent:
			when := ""
			if sentAt.Valid {
				when = " on " + db.Time(sentAt.Int64).Format("2006-01-02 15:04 MST")
			}
			return errorf(ErrState, "issue %d (#%d) was already sent%s", issueID, number, when)
		case tidings.IssueSending:
			return errorf(ErrState, "issue %d (#%d) is being sent now", issueID, number)
		case tidings.IssueScheduled:
			var other int64
			_ = tx.QueryRowContext(ctx, `SELECT id FROM schedules WHERE issue_id = ? AND done = 0`, issueID).Scan(&other)
			return errorf(ErrState, "issue %d (#%d) is already scheduled (schedule %d): remove that one first with tidings schedule rm %d", issueID, number, other, other)
		default:
			return errorf(ErrState, "issue %d (#%d) has status %q", issueID, number, status)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO schedules (list_id, issue_id, at, tz, prev_status, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, listID, issueID, at.Unix(), tz, status, now.Unix())
		if err != nil {
			return fmt.Errorf("add schedule: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("add schedule: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'scheduled' WHERE id = ?`, issueID); err != nil {
			return fmt.Errorf("mark issue %d scheduled: %w", issueID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// AddCron adds a recurring schedule to list listID: at each instant of
// spec in zone tz ("" = the list's zone) every ready issue of the list is
// sent, oldest first.
func (s *Store) AddCron(ctx context.Context, listID int64, spec, tz string) (*Schedule, error) {
	now := s.Now()
	spec = strings.Join(strings.Fields(spec), " ")
	var id int64
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var listTZ string
		err := tx.QueryRowContext(ctx, `SELECT tz FROM lists WHERE id = ?`, listID).Scan(&listTZ)
		if errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "list %d not found", listID)
		}
		if err != nil {
			return fmt.Errorf("read list %d: %w", listID, err)
		}
		if tz == "" {
			tz = zoneOr(listTZ)
		}
		loc, err := LoadZone(tz)
		if err != nil {
			return err
		}
		if _, err := ParseCron(spec, loc); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO schedules (list_id, cron, tz, created_at) VALUES (?, ?, ?, ?)`,
			listID, spec, tz, now.Unix())
		if err != nil {
			return fmt.Errorf("add schedule: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("add schedule: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

func zoneOr(tz string) string {
	if tz == "" {
		return "Local"
	}
	return tz
}

const selectSchedules = `SELECT s.id, s.list_id, l.slug, coalesce(s.issue_id, 0), coalesce(i.number, 0),
	coalesce(s.cron, ''), coalesce(s.at, 0), s.tz, coalesce(s.last_run, 0), s.done, s.created_at
	FROM schedules s JOIN lists l ON l.id = s.list_id LEFT JOIN issues i ON i.id = s.issue_id`

func (s *Store) scan(r interface{ Scan(...any) error }, now time.Time) (Schedule, error) {
	var sc Schedule
	var at, last, created int64
	if err := r.Scan(&sc.ID, &sc.ListID, &sc.ListSlug, &sc.IssueID, &sc.IssueNumber, &sc.Cron, &at, &sc.TZ, &last, &sc.Done, &created); err != nil {
		return sc, err
	}
	loc, err := LoadZone(sc.TZ)
	if err != nil {
		loc = time.UTC
	}
	sc.CreatedAt = time.Unix(created, 0).In(loc)
	if last != 0 {
		sc.LastRun = time.Unix(last, 0).In(loc)
	}
	if sc.Cron == "" {
		sc.At = time.Unix(at, 0).In(loc)
		if !sc.Done {
			sc.Next = sc.At
		}
		return sc, nil
	}
	if cs, err := ParseCron(sc.Cron, loc); err == nil {
		// Walk from the last run when it is recent, so the wall-clock rule
		// of zoned sees the instants the scheduler will see.
		base := now
		if !sc.LastRun.IsZero() && now.Sub(sc.LastRun) < 48*time.Hour {
			base = sc.LastRun
		}
		n := Next(cs, base, loc)
		for i := 0; i < 100000 && !n.IsZero() && !n.After(now); i++ {
			n = Next(cs, n, loc)
		}
		sc.Next = n
	}
	return sc, nil
}

// Get returns one schedule.
func (s *Store) Get(ctx context.Context, id int64) (*Schedule, error) {
	sc, err := s.scan(s.d.R.QueryRowContext(ctx, selectSchedules+` WHERE s.id = ?`, id), s.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "schedule %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule %d: %w", id, err)
	}
	return &sc, nil
}

// List returns the schedules that will still run (pending one-offs and all
// recurring schedules), by id, each with its next run in its zone.
func (s *Store) List(ctx context.Context) ([]Schedule, error) {
	rows, err := s.d.R.QueryContext(ctx, selectSchedules+` WHERE s.done = 0 ORDER BY s.id`)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	defer rows.Close()
	now := s.Now()
	var out []Schedule
	for rows.Next() {
		sc, err := s.scan(rows, now)
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// Remove deletes a schedule. A one-off that has not fired gives its issue
// back the status it had before (draft or ready).
func (s *Store) Remove(ctx context.Context, id int64) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var issueID sql.NullInt64
		var done bool
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT issue_id, done, prev_status FROM schedules WHERE id = ?`, id).Scan(&issueID, &done, &prev)
		if errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "schedule %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("read schedule %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE id = ?`, id); err != nil {
			return fmt.Errorf("remove schedule %d: %w", id, err)
		}
		if issueID.Valid && !done {
			if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = ? WHERE id = ? AND status = 'scheduled'`, prevStatus(prev), issueID.Int64); err != nil {
				return fmt.Errorf("restore issue %d status: %w", issueID.Int64, err)
			}
		}
		return nil
	})
}

func prevStatus(s string) string {
	if s == string(tidings.IssueReady) {
		return s
	}
	return string(tidings.IssueDraft)
}

// IssueZone is the zone of the list an issue belongs to ("Local" when the
// list has none): where a one-off time without a zone is read.
func (s *Store) IssueZone(ctx context.Context, issueID int64) (string, error) {
	var tz string
	err := s.d.R.QueryRowContext(ctx, `SELECT l.tz FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?`, issueID).Scan(&tz)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(ErrNotFound, "issue %d not found (see tidings issue ls)", issueID)
	}
	if err != nil {
		return "", fmt.Errorf("read issue %d: %w", issueID, err)
	}
	return zoneOr(tz), nil
}
