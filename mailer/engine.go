package mailer

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

var randRead = rand.Read

// Sentinel errors of a send.
var (
	// ErrNoRelay: no SMTP relay is configured.
	ErrNoRelay = errors.New("no SMTP relay configured (--smtp-url or TIDINGS_SMTP_URL)")
	// ErrPaused: a whole-server problem stopped the send; it resumes with
	// the next Send once the cause is fixed.
	ErrPaused = errors.New("send paused")
	// ErrInterrupted: the context was cancelled; in-flight messages were
	// finished and recorded, the rest stay pending.
	ErrInterrupted = errors.New("interrupted")
	// ErrNotFound: no such issue.
	ErrNotFound = errors.New("not found")
	// ErrAlreadySent: the issue is marked sent but has no delivery log.
	ErrAlreadySent = errors.New("issue already sent")
)

// ComposeOptions vary one message.
type ComposeOptions struct {
	To   string // override the recipient address (test sends)
	Test bool   // a test copy: subject prefix, no unsubscribe headers
}

// Composer builds each recipient's message of one issue; cmd wires
// render.Edition into it. Implementations must be safe for concurrent use.
type Composer interface {
	// Combination names the recipient's topic combination; articles == 0
	// means the issue has nothing for them and they are skipped.
	Combination(rc tidings.Recipient) (key string, articles int)
	// Compose writes the whole RFC 5322 message (CRLF line ends) and
	// returns its Message-ID.
	Compose(w io.Writer, rc tidings.Recipient, o ComposeOptions) (messageID string, err error)
	// ReturnPath is the VERP envelope sender, bounces+TOKEN@domain.
	ReturnPath(rc tidings.Recipient) string
}

// Campaign is what a send needs to know of an issue.
type Campaign struct {
	IssueID  int64
	ListID   int64
	List     string // slug, for logs and metrics
	Domain   string // the From domain: DKIM d= unless the key names one
	Composer Composer
}

// Campaigns prepares an issue for sending (cmd: issues + subscribers + render).
type Campaigns interface {
	Campaign(ctx context.Context, issueID int64) (*Campaign, error)
}

// Recipients streams the confirmed subscribers of a list in id order.
type Recipients interface {
	Recipients(ctx context.Context, listID int64, fn func(tidings.Recipient) error) error
}

// EventKind names what an Event reports.
type EventKind string

const (
	EventSent      EventKind = "sent"
	EventRetry     EventKind = "retry"
	EventFailed    EventKind = "failed"
	EventBounced   EventKind = "bounced"
	EventSkipped   EventKind = "skipped"
	EventThrottled EventKind = "throttled"
	EventRelayDown EventKind = "relay_down"
	EventPaused    EventKind = "paused"
)

// Event is one thing that happened during a send, for metrics.
type Event struct {
	Kind     EventKind
	IssueID  int64
	List     string
	Relay    string        // redacted URL
	Duration time.Duration // sent: the SMTP transaction
	Rate     float64       // throttled: the relay's new rate (msg/s)
	Reason   string
}

// Observer receives events; the daemon turns them into Prometheus
// metrics without this package importing Prometheus. Observe must not block.
type Observer interface{ Observe(Event) }

// Config tunes an Engine. Zero values take the defaults noted.
type Config struct {
	Relays      []Relay
	Concurrency int     // SMTP connections in parallel; default 4
	Rate        float64 // messages per second across workers; 0 = no limit
	Timeouts    Timeouts
	DKIM        *DKIM // nil: messages are not signed

	MaxAttempts     int           // tries for temporary failures; default 5
	Backoff         time.Duration // delay before the first retry, doubled each time; default 1 min
	MaxBackoff      time.Duration // default 1 h
	BounceLimit     int           // hard bounces that mark a subscription bounced; default 1
	MessagesPerConn int           // reconnect after this many; default 500
	BreakerFailures int           // consecutive connection failures that take a relay out; default 3
	Cooldown        time.Duration // how long a relay stays out; default 1 min
	RecoverEvery    time.Duration // additive-increase step after throttling; default 10 s
	LeaseTTL        time.Duration // claim lease, renewed while held; default 1 min
	ClaimBatch      int           // rows claimed at a time; default 16×Concurrency, at least 32
	PrepareBatch    int           // delivery rows inserted per transaction; default 5000
	Poll            time.Duration // wait between looks at the log when idle; default 1 s
	CommitDelay     time.Duration // how long a log commit waits for other workers' changes; default 200 µs
	IdleTimeout     time.Duration // QUIT a connection without work this long; default 30 s

	Now      func() time.Time
	Logger   *slog.Logger
	Observer Observer
	Owner    string // lease owner name; default host/pid/random
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Concurrency, 4)
	def(&c.MaxAttempts, 5)
	def(&c.BounceLimit, 1)
	def(&c.MessagesPerConn, 500)
	def(&c.BreakerFailures, 3)
	def(&c.ClaimBatch, max(32, 16*c.Concurrency))
	def(&c.PrepareBatch, 5000)
	defD(&c.Backoff, time.Minute)
	defD(&c.MaxBackoff, time.Hour)
	defD(&c.Cooldown, time.Minute)
	defD(&c.RecoverEvery, 10*time.Second)
	defD(&c.LeaseTTL, time.Minute)
	defD(&c.Poll, time.Second)
	defD(&c.CommitDelay, 200*time.Microsecond)
	defD(&c.IdleTimeout, 30*time.Second)
	c.Timeouts = c.Timeouts.withDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Owner == "" {
		c.Owner = newOwner()
	}
	return c
}

// Deps are the engine's collaborators.
type Deps struct {
	DB         *db.DB
	Campaigns  Campaigns
	Recipients Recipients
}

// Engine sends issues. One Engine may run several sends at once (the
// daemon); relay health and rate limits are shared between them.
type Engine struct {
	cfg    Config
	deps   Deps
	pool   *pool
	global *rate.Limiter
	obs    atomic.Pointer[Observer]
}

// SetObserver replaces Config.Observer, for callers that get the engine
// ready-made (the daemon adds its metrics this way).
func (e *Engine) SetObserver(o Observer) { e.obs.Store(&o) }

// New makes an engine.
func New(cfg Config, deps Deps) *Engine {
	cfg = cfg.withDefaults()
	p := &pool{perConn: cfg.Concurrency, breaker: cfg.BreakerFailures, cool: cfg.Cooldown, now: cfg.Now}
	for _, r := range cfg.Relays {
		p.relays = append(p.relays, newRelayState(r))
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if cfg.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	e := &Engine{cfg: cfg, deps: deps, pool: p, global: lim}
	if cfg.Observer != nil {
		e.SetObserver(cfg.Observer)
	}
	return e
}

// RelayRates are the relays' current rate limits (0 = none), by redacted
// URL: throttling lowers them.
func (e *Engine) RelayRates() map[string]float64 {
	m := map[string]float64{}
	for _, rs := range e.pool.relays {
		m[rs.name] = rs.Rate()
	}
	return m
}

// SendOptions vary one Send.
type SendOptions struct {
	// RetryFailed re-queues deliveries that failed temporarily or for a
	// server-side reason (not bounces, not permanent rejections).
	RetryFailed bool
	// Progress, when set, is called about four times a second and once at the end.
	Progress func(Counts)
}

// Report is how a send ended.
type Report struct {
	IssueID int64
	Counts
	Paused      bool
	Reason      string // why it paused
	Interrupted bool
}

func (e *Engine) observe(ev Event) {
	if o := e.obs.Load(); o != nil && *o != nil {
		(*o).Observe(ev)
	}
}

// Send delivers an issue: it writes the delivery log when the send is
// new (the recipient set is fixed then), resumes it otherwise, and
// returns when every delivery is final, when the send pauses (ErrPaused)
// or when ctx is cancelled (ErrInterrupted; in-flight transactions finish
// and are recorded first).
func (e *Engine) Send(ctx context.Context, issueID int64, o SendOptions) (Report, error) {
	rep := Report{IssueID: issueID}
	if len(e.pool.relays) == 0 {
		return rep, ErrNoRelay
	}
	camp, err := e.deps.Campaigns.Campaign(ctx, issueID)
	if err != nil {
		return rep, err
	}
	if err := e.prepare(ctx, camp, o.RetryFailed); err != nil {
		return rep, err
	}
	e.pool.reset()
	if err := e.countHourly(ctx); err != nil {
		return rep, err
	}
	r := &run{
		e:    e,
		camp: camp,
		opts: o,
		st: &logStore{d: e.deps.DB, issueID: issueID, listID: camp.ListID, owner: e.cfg.Owner,
			ttl: e.cfg.LeaseTTL, now: e.cfg.Now},
		held: map[int64]bool{},
	}
	return r.run(ctx)
}

// countHourly tells each relay with an hourly cap how many messages went
// through it in the current clock hour, so a resumed or restarted send
// does not get a fresh allowance.
func (e *Engine) countHourly(ctx context.Context) error {
	now := e.cfg.Now()
	from := now.Truncate(time.Hour).Unix()
	for _, rs := range e.pool.relays {
		if rs.r.Hourly <= 0 {
			continue
		}
		var n int
		if err := e.deps.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM deliveries
			WHERE relay = ? AND sent_at >= ?`, rs.name, from).Scan(&n); err != nil {
			return fmt.Errorf("hourly cap of %s: %w", rs.name, err)
		}
		rs.countHour(now, n)
	}
	return nil
}

// prepare creates or resumes the send's row and its delivery log.
func (e *Engine) prepare(ctx context.Context, camp *Campaign, retryFailed bool) error {
	d := e.deps.DB
	now := e.cfg.Now().Unix()
	var state string
	var issueStatus string
	if err := d.R.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, camp.IssueID).Scan(&issueStatus); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("issue %d: %w", camp.IssueID, ErrNotFound)
		}
		return fmt.Errorf("issue %d: %w", camp.IssueID, err)
	}
	err := d.R.QueryRowContext(ctx, `SELECT state FROM sends WHERE issue_id = ?`, camp.IssueID).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if issueStatus == string(tidings.IssueSent) {
			return fmt.Errorf("issue %d: %w (it has no delivery log to resume)", camp.IssueID, ErrAlreadySent)
		}
		// Issue status is set here, in the same transaction as the send's
		// row, rather than through the issues store: both must agree.
		err = d.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sends (issue_id, state, started_at) VALUES (?, 'preparing', ?)`,
				camp.IssueID, now); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ? AND status != 'sent'`, camp.IssueID)
			return err
		})
		if err != nil {
			return fmt.Errorf("start send of issue %d: %w", camp.IssueID, err)
		}
		state = "preparing"
	case err != nil:
		return fmt.Errorf("send of issue %d: %w", camp.IssueID, err)
	}
	if state == "preparing" {
		// Also the path after a crash during preparation: INSERT OR
		// IGNORE makes a second pass harmless.
		if err := e.fillLog(ctx, camp); err != nil {
			return err
		}
	}
	return d.WriteTx(ctx, func(tx *sql.Tx) error {
		if retryFailed {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0,
				lease_owner = '', lease_until = 0, updated_at = ?
				WHERE issue_id = ? AND state = 'failed' AND fail_kind IN ('temporary', 'server')`, now, camp.IssueID); err != nil {
				return fmt.Errorf("retry failed deliveries: %w", err)
			}
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE issue_id = ? AND state IN ('pending', 'sending')`,
			camp.IssueID).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 && state == "done" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sends SET state = 'running', reason = '', finished_at = NULL WHERE issue_id = ?`,
			camp.IssueID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ?`, camp.IssueID)
		return err
	})
}

// fillLog writes one delivery row per confirmed recipient, streamed and
// committed PrepareBatch rows at a time.
func (e *Engine) fillLog(ctx context.Context, camp *Campaign) error {
	now := e.cfg.Now().Unix()
	type row struct {
		id    int64
		state string
		key   string
	}
	batch := make([]row, 0, e.cfg.PrepareBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := e.deps.DB.WriteTx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, r := range batch {
				if _, err := st.ExecContext(ctx, camp.IssueID, r.id, r.state, r.key, now, now); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err := e.deps.Recipients.Recipients(ctx, camp.ListID, func(rc tidings.Recipient) error {
		key, n := camp.Composer.Combination(rc)
		st := "pending"
		if n == 0 {
			st = "skipped"
		}
		batch = append(batch, row{rc.SubscriberID, st, key})
		if len(batch) >= e.cfg.PrepareBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("write delivery log of issue %d: %w", camp.IssueID, err)
	}
	return nil
}

// run is one Send in progress.
type run struct {
	e    *Engine
	camp *Campaign
	opts SendOptions
	st   *logStore
	w    *writer
	jobs chan job

	stopCtx  context.Context // cancelled on pause or interrupt: no new work
	stopNow  context.CancelFunc
	pauseMu  sync.Mutex
	paused   string
	fatalErr error

	heldMu sync.Mutex
	held   map[int64]bool

	slotWait atomic.Int32 // workers holding a job while no relay has a free connection

	counts struct{ sent, failed, skipped, bounced atomic.Int64 }
}

func (r *run) hold(id int64) {
	r.heldMu.Lock()
	r.held[id] = true
	r.heldMu.Unlock()
}

func (r *run) unhold(id int64) {
	r.heldMu.Lock()
	delete(r.held, id)
	r.heldMu.Unlock()
}

func (r *run) heldIDs() []int64 {
	r.heldMu.Lock()
	defer r.heldMu.Unlock()
	ids := make([]int64, 0, len(r.held))
	for id := range r.held {
		ids = append(ids, id)
	}
	return ids
}

func (r *run) pause(reason string) {
	r.pauseMu.Lock()
	first := r.paused == "" && r.fatalErr == nil
	if first {
		r.paused = reason
	}
	r.pauseMu.Unlock()
	if first {
		r.e.cfg.Logger.Warn("send paused", "issue", r.camp.IssueID, "reason", reason)
		r.e.observe(Event{Kind: EventPaused, IssueID: r.camp.IssueID, List: r.camp.List, Reason: reason})
	}
	r.stopNow()
}

func (r *run) fatal(err error) {
	r.pauseMu.Lock()
	if r.fatalErr == nil {
		r.fatalErr = err
	}
	r.pauseMu.Unlock()
	r.stopNow()
}

// sleep waits d unless the run stops first.
func (r *run) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.stopCtx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (r *run) run(ctx context.Context) (Report, error) {
	e := r.e
	rep := Report{IssueID: r.camp.IssueID}
	base, err := countStates(ctx, e.deps.DB.R, r.camp.IssueID)
	if err != nil {
		return rep, err
	}
	if base.Pending == 0 {
		if err := r.finish(); err != nil {
			return rep, err
		}
		rep.Counts = base
		return rep, nil
	}
	if err := r.st.reapDead(ctx); err != nil {
		return rep, err
	}
	if err := r.st.prepare(ctx); err != nil {
		return rep, err
	}
	r.stopCtx, r.stopNow = context.WithCancel(ctx)
	defer r.stopNow()
	r.w = newWriter(e.deps.DB, e.cfg.Concurrency, e.cfg.CommitDelay)
	r.jobs = make(chan job, e.cfg.ClaimBatch)
	e.cfg.Logger.Info("sending", "issue", r.camp.IssueID, "list", r.camp.List, "pending", base.Pending,
		"concurrency", e.cfg.Concurrency, "relays", len(e.pool.relays))

	var bg sync.WaitGroup
	bgCtx, bgStop := context.WithCancel(context.Background())
	bg.Go(func() { r.renewLoop(bgCtx) })
	if r.opts.Progress != nil {
		bg.Go(func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-bgCtx.Done():
					return
				case <-t.C:
					r.opts.Progress(r.live(base))
				}
			}
		})
	}

	var workers sync.WaitGroup
	for i := 0; i < e.cfg.Concurrency; i++ {
		workers.Go(r.worker)
	}
	claimDone := make(chan struct{})
	go func() { defer close(claimDone); r.claimLoop() }()
	workers.Wait()
	r.stopNow() // workers may all have quit (pause): stop claiming too
	<-claimDone
	bgStop() // no lease renewal may reach the writer after it closes
	bg.Wait()
	// Jobs claimed but never started go back to the pool untouched.
	var left []int64
	for j := range r.jobs {
		left = append(left, j.rc.SubscriberID)
		r.unhold(j.rc.SubscriberID)
	}
	left = append(left, r.heldIDs()...)
	if len(left) > 0 {
		if err := r.w.do(func(tx *sql.Tx) error { return r.st.release(tx, left) }); err != nil {
			r.fatal(err)
		}
	}
	r.w.close()
	r.st.close()
	r.pauseMu.Lock()
	fatalErr, paused := r.fatalErr, r.paused
	r.pauseMu.Unlock()

	final, err := countStates(context.WithoutCancel(ctx), e.deps.DB.R, r.camp.IssueID)
	if err != nil {
		return rep, err
	}
	rep.Counts = final
	if r.opts.Progress != nil {
		r.opts.Progress(final)
	}
	switch {
	case fatalErr != nil:
		return rep, fatalErr
	case paused != "":
		rep.Paused, rep.Reason = true, paused
		_, err := e.deps.DB.W.ExecContext(context.WithoutCancel(ctx),
			`UPDATE sends SET state = 'paused', reason = ? WHERE issue_id = ? AND state = 'running'`, paused, r.camp.IssueID)
		if err != nil {
			return rep, fmt.Errorf("pause send: %w", err)
		}
		return rep, fmt.Errorf("%w: %s", ErrPaused, paused)
	case ctx.Err() != nil:
		rep.Interrupted = true
		return rep, fmt.Errorf("%w: %d pending", ErrInterrupted, final.Pending)
	}
	if final.Pending == 0 {
		if err := r.finish(); err != nil {
			return rep, err
		}
	}
	e.cfg.Logger.Info("send finished", "issue", r.camp.IssueID, "sent", final.Sent, "failed", final.Failed,
		"bounced", final.Bounced, "skipped", final.Skipped)
	return rep, nil
}

// live is the progress estimate from the counts at start plus this run's outcomes.
func (r *run) live(base Counts) Counts {
	c := base
	s, f, k, b := int(r.counts.sent.Load()), int(r.counts.failed.Load()), int(r.counts.skipped.Load()), int(r.counts.bounced.Load())
	c.Sent += s
	c.Failed += f
	c.Skipped += k
	c.Bounced += b
	c.Pending -= s + f + k + b
	return c
}

// finish marks the send done and the issue sent.
func (r *run) finish() error {
	now := r.e.cfg.Now().Unix()
	return r.e.deps.DB.WriteTx(context.Background(), func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE sends SET state = 'done', reason = '', finished_at = coalesce(finished_at, ?) WHERE issue_id = ?`,
			now, r.camp.IssueID); err != nil {
			return fmt.Errorf("finish send: %w", err)
		}
		if _, err := tx.Exec(`UPDATE issues SET status = 'sent', sent_at = coalesce(sent_at, ?) WHERE id = ?`,
			now, r.camp.IssueID); err != nil {
			return fmt.Errorf("finish send: %w", err)
		}
		return nil
	})
}

// claimLoop keeps the job queue filled from the log until nothing is
// left to send, or the run stops.
func (r *run) claimLoop() {
	defer close(r.jobs)
	e := r.e
	for r.stopCtx.Err() == nil {
		jobs, err := r.st.claim(r.stopCtx, e.cfg.ClaimBatch)
		if err != nil {
			if r.stopCtx.Err() == nil {
				r.fatal(err)
			}
			return
		}
		for _, j := range jobs {
			r.hold(j.rc.SubscriberID)
		}
		for _, j := range jobs {
			select {
			case r.jobs <- j:
			case <-r.stopCtx.Done():
				return // run() releases jobs[i:], which are still held
			}
		}
		if len(jobs) > 0 {
			continue
		}
		n, _, err := r.st.remaining(r.stopCtx)
		if err != nil {
			if r.stopCtx.Err() == nil {
				r.fatal(err)
			}
			return
		}
		if n == 0 && len(r.heldIDs()) == 0 {
			return
		}
		if err := r.st.reapDead(r.stopCtx); err != nil && r.stopCtx.Err() == nil {
			e.cfg.Logger.Warn("reap dead senders", "err", err)
		}
		if !r.sleep(e.cfg.Poll) {
			return
		}
	}
}

// renewLoop extends the leases of held rows while the run lasts.
func (r *run) renewLoop(ctx context.Context) {
	t := time.NewTicker(max(r.e.cfg.LeaseTTL/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ids := r.heldIDs()
			if len(ids) > 0 {
				r.w.submit(func(tx *sql.Tx) error { return r.st.renew(tx, ids) })
			}
		}
	}
}

// worker owns one SMTP connection at a time and sends claimed jobs over
// it. It connects when it has a job (a job whose relay fails to connect
// waits for another relay), and says QUIT to a connection idle for
// IdleTimeout (retries far in the future), rather than let the server
// time it out under a message.
func (r *run) worker() {
	e := r.e
	var cn *conn
	var rs *relayState
	var raw, signed bytes.Buffer
	closeConn := func(polite bool) {
		if cn != nil {
			cn.close(polite)
			rs.release()
			cn, rs = nil, nil
		}
	}
	defer closeConn(true)
	idle := time.NewTimer(e.cfg.IdleTimeout)
	defer idle.Stop()
	// A connection without work gives its slot up, after at most Poll, to
	// a worker of this run that holds a job and waits for a slot (a relay
	// whose conns= is below the concurrency, or a relay out of service):
	// kept for IdleTimeout, it would hold the end of the send up that long
	// for each such worker.
	yield := time.NewTicker(e.cfg.Poll)
	defer yield.Stop()
	waiting := false // counted in r.slotWait
	setWaiting := func(w bool) {
		if w != waiting {
			waiting = w
			if w {
				r.slotWait.Add(1)
			} else {
				r.slotWait.Add(-1)
			}
		}
	}
	defer setWaiting(false)
	var next *job // taken from the queue, not yet sent; run() releases it if we quit
	for r.stopCtx.Err() == nil {
		if next == nil {
			select {
			case j, ok := <-r.jobs:
				if !ok {
					return
				}
				next = &j
			case <-idle.C:
				closeConn(true)
				continue
			case <-yield.C:
				if cn != nil && r.slotWait.Load() > 0 {
					closeConn(true)
				}
				continue
			case <-r.stopCtx.Done():
				return
			}
		}
		if cn == nil {
			var allDown bool
			var why string
			rs, allDown, why = e.pool.pick()
			if rs == nil {
				if allDown {
					r.pause("every relay is down: " + why)
					return
				}
				if !waiting && why != "" {
					e.cfg.Logger.Info("waiting for a relay", "issue", r.camp.IssueID, "why", why)
				}
				setWaiting(true)
				if !r.sleep(e.cfg.Poll) {
					return
				}
				continue
			}
			setWaiting(false)
			c, err := dialRelay(r.stopCtx, rs.r, e.cfg.Timeouts)
			if err != nil {
				rs.release()
				if r.stopCtx.Err() != nil {
					return
				}
				r.relayTrouble(rs, classify(err), err)
				rs = nil
				if !r.sleep(e.cfg.Poll) {
					return
				}
				continue
			}
			cn = c
		}
		if !rs.takeHourly(e.cfg.Now()) {
			// The hourly cap filled up while this connection was open
			// (other workers took the last messages): say QUIT rather
			// than hold the connection idle for the rest of the hour;
			// pick skips the relay until the next clock hour.
			closeConn(true)
			continue
		}
		keep := r.deliver(cn, rs, *next, &raw, &signed)
		next = nil
		if !keep || cn.msgs >= e.cfg.MessagesPerConn {
			closeConn(keep)
		}
		idle.Reset(e.cfg.IdleTimeout)
	}
}

// relayTrouble handles a failure that concerns the relay rather than
// one message: circuit breaker, or the relay taken out for good.
func (r *run) relayTrouble(rs *relayState, v verdict, err error) {
	e := r.e
	why := redactErr(err, rs.r)
	if v.broken {
		rs.markBroken(why)
		e.cfg.Logger.Error("relay unusable", "relay", rs.name, "err", why)
		e.observe(Event{Kind: EventRelayDown, IssueID: r.camp.IssueID, List: r.camp.List, Relay: rs.name, Reason: why})
		return
	}
	if v.relayDown {
		if rs.failure(e.cfg.Now(), why, e.cfg.BreakerFailures, e.cfg.Cooldown) {
			e.cfg.Logger.Warn("relay taken out", "relay", rs.name, "for", e.cfg.Cooldown, "err", why)
			e.observe(Event{Kind: EventRelayDown, IssueID: r.camp.IssueID, List: r.camp.List, Relay: rs.name, Reason: why})
		} else {
			e.cfg.Logger.Warn("relay connection failed", "relay", rs.name, "err", why)
		}
	}
}

// deliver sends one job and records the outcome. It reports whether the
// session can carry another message.
func (r *run) deliver(cn *conn, rs *relayState, j job, raw, signed *bytes.Buffer) (keep bool) {
	e := r.e
	id := j.rc.SubscriberID
	comp := r.camp.Composer
	if _, n := comp.Combination(j.rc); n == 0 {
		r.record(id, func(tx *sql.Tx) error { return r.st.skip(tx, id, "no article for the recipient's topics") })
		r.counts.skipped.Add(1)
		return true
	}
	raw.Reset()
	msgID, err := comp.Compose(raw, j.rc, ComposeOptions{})
	if err != nil {
		msg := "compose: " + err.Error()
		r.record(id, func(tx *sql.Tx) error { return r.st.fail(tx, id, tidings.DeliveryFailed, KindPermanent, msg, "") })
		r.counts.failed.Add(1)
		e.cfg.Logger.Error("compose message", "issue", r.camp.IssueID, "subscriber", id, "err", err)
		return true
	}
	msg := raw.Bytes()
	if e.cfg.DKIM != nil {
		signed.Reset()
		if err := e.cfg.DKIM.sign(signed, msg, r.camp.Domain); err != nil {
			r.fatal(err)
			return true
		}
		msg = signed.Bytes()
	}
	rs.recover(e.cfg.Now(), e.cfg.RecoverEvery)
	// The hourly cap was taken by the worker (takeHourly); here the rates.
	if e.global.Wait(r.stopCtx) != nil || rs.lim.Wait(r.stopCtx) != nil {
		return true // stopping: run() releases the job
	}
	start := time.Now()
	reply, err := cn.send(comp.ReturnPath(j.rc), []string{j.rc.Email}, msg, func() error {
		return r.w.do(func(tx *sql.Tx) error { return r.st.sending(tx, id, rs.name, msgID) })
	})
	if err == nil {
		// Not waited for: the next message's "sending" commits after this
		// in the same FIFO, so at most this one is ambiguous at a crash.
		r.record(id, func(tx *sql.Tx) error { return r.st.sent(tx, id, reply) })
		r.counts.sent.Add(1)
		rs.success(e.cfg.Now())
		e.observe(Event{Kind: EventSent, IssueID: r.camp.IssueID, List: r.camp.List, Relay: rs.name, Duration: time.Since(start)})
		return true
	}
	var se *smtpError
	if !errors.As(err, &se) {
		// From the log, not the relay (RSET was sent already).
		if errors.Is(err, errLeaseLost) {
			r.unhold(id)
			e.cfg.Logger.Warn("delivery taken over by another sender", "issue", r.camp.IssueID, "subscriber", id)
			return true
		}
		r.fatal(err)
		return true
	}
	v := classify(err)
	if v.throttle {
		if from, to, ok := rs.throttled(e.cfg.Now(), e.cfg.RecoverEvery/2); ok {
			e.cfg.Logger.Warn("relay throttling: rate halved", "relay", rs.name, "from", from, "to", to, "reply", v.reply)
			e.observe(Event{Kind: EventThrottled, IssueID: r.camp.IssueID, List: r.camp.List, Relay: rs.name, Rate: to, Reason: v.reply})
		}
	}
	if v.broken {
		// Not this message's fault: hand it back for another relay, or
		// for the resumed send.
		r.release(id)
		r.relayTrouble(rs, v, err)
		return false
	}
	if v.relayDown {
		r.relayTrouble(rs, v, err)
	}
	r.failed(j, v)
	if v.reconnect {
		return false
	}
	return cn.reset() == nil
}

// failed records a failed try: retry, final failure or hard bounce.
func (r *run) failed(j job, v verdict) {
	e := r.e
	id := j.rc.SubscriberID
	ev := Event{IssueID: r.camp.IssueID, List: r.camp.List, Reason: v.reply}
	reply := ""
	if v.code != 0 {
		reply = v.reply
	}
	switch v.kind {
	case KindTemporary:
		if v.throttle {
			// Throttling is the relay's pace, not the message's fault:
			// retried soon and never given up on.
			next := e.cfg.Now().Add(jitter(e.cfg.Backoff))
			r.record(id, func(tx *sql.Tx) error { return r.st.retry(tx, id, next, false, v.reply, reply) })
			ev.Kind = EventRetry
			break
		}
		if j.attempts+1 >= e.cfg.MaxAttempts {
			r.record(id, func(tx *sql.Tx) error {
				return r.st.fail(tx, id, tidings.DeliveryFailed, KindTemporary, v.reply, reply)
			})
			r.counts.failed.Add(1)
			ev.Kind = EventFailed
			break
		}
		next := e.cfg.Now().Add(backoff(e.cfg.Backoff, e.cfg.MaxBackoff, j.attempts))
		r.record(id, func(tx *sql.Tx) error { return r.st.retry(tx, id, next, true, v.reply, reply) })
		ev.Kind = EventRetry
	case KindRecipient:
		r.record(id, func(tx *sql.Tx) error {
			if err := r.st.fail(tx, id, tidings.DeliveryBounced, KindRecipient, v.reply, reply); err != nil {
				return err
			}
			return r.st.hardBounce(tx, id, v.enhanced, v.reply, e.cfg.BounceLimit)
		})
		r.counts.bounced.Add(1)
		ev.Kind = EventBounced
	default:
		r.record(id, func(tx *sql.Tx) error { return r.st.fail(tx, id, tidings.DeliveryFailed, v.kind, v.reply, reply) })
		r.counts.failed.Add(1)
		ev.Kind = EventFailed
	}
	e.cfg.Logger.Debug("delivery failed", "issue", r.camp.IssueID, "subscriber", id, "kind", v.kind, "reply", v.reply)
	e.observe(ev)
}

// record queues an outcome; the row stops being held once it is written.
func (r *run) record(id int64, fn func(tx *sql.Tx) error) {
	ch := r.w.submit(fn)
	go func() {
		if err := <-ch; err != nil {
			r.fatal(err)
		}
		r.unhold(id)
	}()
}

func (r *run) release(id int64) {
	r.record(id, func(tx *sql.Tx) error { return r.st.release(tx, []int64{id}) })
}

// backoff is Backoff·2^attempts, capped, with ±25 % jitter so retries
// of many messages do not arrive together.
func backoff(base, limit time.Duration, attempts int) time.Duration {
	d := float64(base) * math.Pow(2, float64(attempts))
	if d > float64(limit) {
		d = float64(limit)
	}
	return jitter(time.Duration(d))
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + 0.5*mrand.Float64()))
}

// redactErr renders err for logs and the log table without the relay's password.
func redactErr(err error, r Relay) string {
	s := err.Error()
	if r.Password != "" {
		s = replaceAll(s, r.Password, "xxxxx")
	}
	return RedactURL(s)
}
