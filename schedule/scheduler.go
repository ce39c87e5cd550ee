package schedule

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tidings/tidings/db"
)

// Sender sends one issue, or resumes its send from the delivery log, and
// returns when the send is done, paused, or ctx is cancelled (letting
// SMTP transactions in flight finish). The delivery engine satisfies it
// through a small adapter in cmd/tidings.
type Sender interface {
	Send(ctx context.Context, issueID int64) error
}

// Defaults of Config.
const (
	DefaultGrace    = 24 * time.Hour
	DefaultPoll     = time.Second
	DefaultLeaseTTL = 15 * time.Second
	DefaultRetry    = 30 * time.Second
	maxRetry        = 30 * time.Minute
)

// Config configures a Scheduler. DB and Sender are required.
type Config struct {
	DB     *db.DB
	Sender Sender
	// Now is the clock every decision reads (due ticks, grace, lease).
	Now func() time.Time
	// Grace is how late a run may start: a run that fell while the daemon
	// was down happens once at start when less late than this, else it is
	// logged and skipped. Default 24 h.
	Grace time.Duration
	// Poll is how often Run re-reads the schedules. Default 1 s.
	Poll time.Duration
	// LeaseTTL is how long the sender lease lasts unrenewed; it is renewed
	// every third of it, and a standby takes over after it. Default 15 s.
	LeaseTTL time.Duration
	// Owner names this process in the lease. Default DefaultOwner().
	Owner string
	// Retry is the wait before a send that ended unfinished (paused by a
	// server problem, or failed) is resumed; it doubles up to 30 min.
	Retry time.Duration
	// Logger receives the scheduler's decisions. Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, records sends and leadership.
	Metrics *Metrics
	// AfterSend, when set, is called after each send attempt with the
	// issue's status then (e.g. "sent", or "sending" when unfinished).
	AfterSend func(issueID int64, status string, err error)
}

// Scheduler runs schedules on one database. Run is the daemon's loop;
// Step is one pass of it, for tests driving a fake clock.
type Scheduler struct {
	cfg   Config
	lease *Lease
	log   *slog.Logger

	mu       sync.Mutex
	queue    []int64
	busy     map[int64]bool // queued or being sent by this process
	retryAt  map[int64]time.Time
	failures map[int64]int
	wake     chan struct{}
	leader   atomic.Bool
	crons    map[string]parsedCron
}

// Leader reports whether this scheduler held the sender lease at its last
// renewal (Run only): false means standby.
func (s *Scheduler) Leader() bool { return s.leader.Load() }

// New makes a Scheduler, filling Config defaults.
func New(cfg Config) *Scheduler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.Owner == "" {
		cfg.Owner = DefaultOwner()
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRetry
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Scheduler{
		cfg:      cfg,
		lease:    &Lease{DB: cfg.DB, Name: SenderLease, Owner: cfg.Owner, TTL: cfg.LeaseTTL, Now: cfg.Now},
		log:      cfg.Logger,
		busy:     map[int64]bool{},
		retryAt:  map[int64]time.Time{},
		failures: map[int64]int{},
		wake:     make(chan struct{}, 1),
		crons:    map[string]parsedCron{},
	}
}

// Owner is the name this scheduler holds the lease under.
func (s *Scheduler) Owner() string { return s.cfg.Owner }

// Step is one synchronous pass: take or renew the sender lease, claim the
// due work and send it. It returns the issues it sent (or tried to).
// Without the lease it does nothing.
func (s *Scheduler) Step(ctx context.Context) ([]int64, error) {
	ok, _, err := s.lease.Acquire(ctx)
	if err != nil || !ok {
		return nil, err
	}
	ids, err := s.claim(ctx)
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		s.sendOne(ctx, id)
	}
	return ids, err
}

// Run polls the schedules until ctx is cancelled. Sends run one at a
// time, in order, in a worker, so polling (and lease renewal) goes on
// during a long send. On cancellation no new send starts; Run returns
// once the current send has returned (the Sender lets in-flight SMTP
// transactions finish) and the lease is released. Bounding that wait is
// the caller's business.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.worker(ctx)
	}()
	ticker := time.NewTicker(s.cfg.Poll)
	defer ticker.Stop()
	leader, known := false, false
	var renewed time.Time
	for ctx.Err() == nil {
		now := s.cfg.Now()
		if !leader || now.Sub(renewed) >= s.cfg.LeaseTTL/3 {
			ok, h, err := s.lease.Acquire(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Warn("sender lease: renewal failed", "err", err)
			case err == nil:
				renewed = now
				if ok != leader || !known {
					if ok {
						s.log.Info("sender lease taken: this process sends", "owner", s.cfg.Owner)
					} else {
						s.log.Info("standby: another process holds the sender lease", "holder", h.Owner, "until", h.Until)
						s.dropQueue()
					}
				}
				leader, known = ok, true
				s.leader.Store(ok)
			}
			if s.cfg.Metrics != nil {
				s.cfg.Metrics.setLeader(leader)
			}
		}
		if leader {
			ids, err := s.claim(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("schedules: claim failed", "err", err)
			}
			s.enqueue(ids)
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
		}
	}
	wg.Wait()
	s.leader.Store(false)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.lease.Release(rctx); err != nil {
		return err
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.setLeader(false)
	}
	return nil
}

func (s *Scheduler) enqueue(ids []int64) {
	if len(ids) == 0 {
		return
	}
	s.mu.Lock()
	for _, id := range ids {
		if !s.busy[id] {
			s.busy[id] = true
			s.queue = append(s.queue, id)
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// dropQueue forgets queued sends after losing the lease: the new holder
// resumes them from the database.
func (s *Scheduler) dropQueue() {
	s.mu.Lock()
	for _, id := range s.queue {
		delete(s.busy, id)
	}
	s.queue = nil
	s.mu.Unlock()
}

func (s *Scheduler) worker(ctx context.Context) {
	for {
		s.mu.Lock()
		var id int64
		if len(s.queue) > 0 {
			id, s.queue = s.queue[0], s.queue[1:]
		}
		s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if id == 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		s.sendOne(ctx, id)
	}
}

// sendOne sends one issue with panic recovery, then decides from the
// issue's status whether it needs another go later.
func (s *Scheduler) sendOne(ctx context.Context, id int64) {
	start := time.Now()
	s.log.Info("send starting", "issue", id)
	err := s.safeSend(ctx, id)
	var status, list string
	elapsed := time.Since(start)
	// busy is cleared only after the retry time is set, so a poll in
	// between cannot pick the issue up again at once.
	defer func() {
		s.mu.Lock()
		delete(s.busy, id)
		s.mu.Unlock()
		if s.cfg.AfterSend != nil {
			s.cfg.AfterSend(id, status, err)
		}
	}()

	if qerr := s.cfg.DB.R.QueryRowContext(context.WithoutCancel(ctx),
		`SELECT i.status, l.slug FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?`, id).Scan(&status, &list); qerr != nil {
		s.log.Error("send: read issue status", "issue", id, "err", qerr)
	}
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.observeSend(list, elapsed, err == nil && status == "sent")
	}
	switch {
	case ctx.Err() != nil:
		s.log.Info("send interrupted by shutdown; it resumes at the next start", "issue", id, "list", list, "status", status)
	case err == nil && status != "sending":
		s.mu.Lock()
		delete(s.failures, id)
		delete(s.retryAt, id)
		s.mu.Unlock()
		s.log.Info("send finished", "issue", id, "list", list, "status", status, "duration", elapsed.Round(time.Millisecond))
	default:
		s.mu.Lock()
		s.failures[id]++
		delay := s.cfg.Retry << min(s.failures[id]-1, 16)
		if delay > maxRetry || delay <= 0 {
			delay = maxRetry
		}
		s.retryAt[id] = s.cfg.Now().Add(delay)
		s.mu.Unlock()
		switch {
		case errors.Is(err, ErrNotOurs):
			s.log.Warn("send left to the process that started it with other settings; will look again", "issue", id, "list", list, "err", err, "retry_in", delay)
		case err != nil:
			s.log.Error("send failed; will resume", "issue", id, "list", list, "err", err, "retry_in", delay)
		default:
			s.log.Warn("send unfinished (paused or deferred deliveries); will resume", "issue", id, "list", list, "retry_in", delay)
		}
	}
}

func (s *Scheduler) safeSend(ctx context.Context, id int64) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("send panicked", "issue", id, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("send issue %d: panic: %v", id, r)
		}
	}()
	return s.cfg.Sender.Send(ctx, id)
}

// claim, in one write transaction that also checks the lease, fires the
// due one-off schedules and recurring ticks — recording each as handled
// and flipping its issues to "sending" — and returns every issue in
// "sending" that this process should send now, oldest first. Because the
// record and the status change commit together, a crash either leaves the
// tick unhandled (it runs at restart) or handled with its issues marked
// sending (they are resumed at restart): never lost, never twice.
func (s *Scheduler) claim(ctx context.Context) ([]int64, error) {
	now := s.cfg.Now()
	var ids []int64
	var logs []func()
	err := s.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		logs = logs[:0]
		ids = ids[:0]
		if ok, err := s.lease.held(ctx, tx, now); err != nil || !ok {
			return err
		}
		l, err := s.fireOnce(ctx, tx, now)
		if err != nil {
			return err
		}
		logs = append(logs, l...)
		if l, err = s.fireRecurring(ctx, tx, now); err != nil {
			return err
		}
		logs = append(logs, l...)
		// A send an editor holds (sends.held_by) waits; its retry delay is
		// forgotten so that it resumes at the next poll once released.
		rows, err := tx.QueryContext(ctx, `SELECT i.id, coalesce(sn.held_by, '') != '' FROM issues i
			LEFT JOIN sends sn ON sn.issue_id = i.id WHERE i.status = 'sending' ORDER BY i.number, i.id`)
		if err != nil {
			return fmt.Errorf("read sending issues: %w", err)
		}
		defer rows.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for rows.Next() {
			var id int64
			var held bool
			if err := rows.Scan(&id, &held); err != nil {
				return err
			}
			if held {
				delete(s.retryAt, id)
				delete(s.failures, id)
				continue
			}
			if s.busy[id] || now.Before(s.retryAt[id]) {
				continue
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim due schedules: %w", err)
	}
	for _, f := range logs {
		f()
	}
	return ids, nil
}

func (s *Scheduler) fireOnce(ctx context.Context, tx *sql.Tx, now time.Time) ([]func(), error) {
	type due struct {
		id, issue int64
		at        int64
		prev      string
	}
	var dues []due
	rows, err := tx.QueryContext(ctx, `SELECT id, issue_id, at, prev_status FROM schedules
		WHERE at IS NOT NULL AND done = 0 AND at <= ? ORDER BY at, id`, now.Unix())
	if err != nil {
		return nil, fmt.Errorf("read one-off schedules: %w", err)
	}
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.issue, &d.at, &d.prev); err != nil {
			rows.Close()
			return nil, err
		}
		dues = append(dues, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var logs []func()
	for _, d := range dues {
		at := time.Unix(d.at, 0)
		late := now.Sub(at)
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET done = 1, last_run = ? WHERE id = ?`, d.at, d.id); err != nil {
			return nil, fmt.Errorf("record schedule %d: %w", d.id, err)
		}
		if late > s.cfg.Grace {
			// Too late: give the issue back to the editor as it was.
			if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = ? WHERE id = ? AND status = 'scheduled'`, prevStatus(d.prev), d.issue); err != nil {
				return nil, fmt.Errorf("restore issue %d: %w", d.issue, err)
			}
			logs = append(logs, func() {
				s.log.Warn("missed one-off schedule skipped: more than the grace period late; schedule it again",
					"schedule", d.id, "issue", d.issue, "at", at, "late", late.Round(time.Second), "grace", s.cfg.Grace)
				s.cfg.Metrics.missed()
			})
			continue
		}
		res, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ? AND status = 'scheduled'`, d.issue)
		if err != nil {
			return nil, fmt.Errorf("claim issue %d: %w", d.issue, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			logs = append(logs, func() {
				s.log.Warn("one-off schedule fired but its issue is no longer scheduled (sent or changed meanwhile)", "schedule", d.id, "issue", d.issue)
			})
			continue
		}
		logs = append(logs, func() {
			s.log.Info("one-off schedule fired", "schedule", d.id, "issue", d.issue, "at", at, "late", late.Round(time.Second))
		})
	}
	return logs, nil
}

func (s *Scheduler) fireRecurring(ctx context.Context, tx *sql.Tx, now time.Time) ([]func(), error) {
	type rec struct {
		id, list      int64
		spec, tz      string
		last, created int64
	}
	var recs []rec
	rows, err := tx.QueryContext(ctx, `SELECT id, list_id, cron, tz, coalesce(last_run, 0), created_at FROM schedules
		WHERE cron IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read recurring schedules: %w", err)
	}
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.id, &r.list, &r.spec, &r.tz, &r.last, &r.created); err != nil {
			rows.Close()
			return nil, err
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var logs []func()
	for _, r := range recs {
		sched, loc, err := s.parsed(r.spec, r.tz)
		if err != nil {
			logs = append(logs, func() { s.log.Error("recurring schedule is invalid; skipped", "schedule", r.id, "err", err) })
			continue
		}
		base := time.Unix(r.created, 0)
		if r.last != 0 {
			base = time.Unix(r.last, 0)
		}
		tick, missed := latestDue(sched, base, now, loc, s.cfg.Grace)
		if tick.IsZero() {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET last_run = ? WHERE id = ?`, tick.Unix(), r.id); err != nil {
			return nil, fmt.Errorf("record schedule %d: %w", r.id, err)
		}
		late := now.Sub(tick)
		if late > s.cfg.Grace {
			logs = append(logs, func() {
				s.log.Warn("missed recurring run skipped: more than the grace period late",
					"schedule", r.id, "tick", tick, "late", late.Round(time.Second), "grace", s.cfg.Grace, "earlier_missed", missed)
				s.cfg.Metrics.missed()
			})
			continue
		}
		if missed > 0 {
			logs = append(logs, func() {
				s.log.Warn("earlier recurring runs missed while down; running once now", "schedule", r.id, "missed", missed)
			})
		}
		res, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending'
			WHERE list_id = ? AND status = 'ready' AND sent_at IS NULL`, r.list)
		if err != nil {
			return nil, fmt.Errorf("claim ready issues of list %d: %w", r.list, err)
		}
		n, _ := res.RowsAffected()
		logs = append(logs, func() {
			s.log.Info("recurring schedule fired", "schedule", r.id, "tick", tick, "late", late.Round(time.Second), "issues", n)
		})
	}
	return logs, nil
}

type parsedCron struct {
	sched cron.Schedule
	loc   *time.Location
	err   error
}

// parsed parses a schedule's expression in its zone once per process:
// every poll reads every recurring schedule.
func (s *Scheduler) parsed(spec, tz string) (cron.Schedule, *time.Location, error) {
	key := tz + "\x00" + spec
	s.mu.Lock()
	p, ok := s.crons[key]
	s.mu.Unlock()
	if !ok {
		p.loc, p.err = LoadZone(tz)
		if p.err == nil {
			p.sched, p.err = ParseCron(spec, p.loc)
		}
		s.mu.Lock()
		s.crons[key] = p
		s.mu.Unlock()
	}
	return p.sched, p.loc, p.err
}

// latestDue is the last instant of sched in (base, now], zero when none,
// and how many earlier instants in that span it passes over. After a long
// outage it jumps ahead: instants older than twice the grace are all
// "missed" anyway, so it does not walk every minute of a year.
func latestDue(sched interface{ Next(time.Time) time.Time }, base, now time.Time, loc *time.Location, grace time.Duration) (time.Time, int) {
	first := sched.Next(base.In(loc))
	if first.IsZero() || first.After(now) {
		return time.Time{}, 0
	}
	tick, missed := first, 0
	if horizon := now.Add(-2 * grace); tick.Before(horizon) {
		if t := sched.Next(horizon.In(loc)); !t.IsZero() && !t.After(now) {
			tick, missed = t, 1
		}
	}
	for {
		n := sched.Next(tick)
		if n.IsZero() || n.After(now) {
			return tick, missed
		}
		tick = n
		missed++
	}
}
