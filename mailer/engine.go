// engine.go holds the Engine: its configuration and collaborators, the
// events it reports, and Send, the entry point of a send.

package mailer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

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
	Test bool   // a test copy: subject marker, one-click unsubscribe headers signed for nobody
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
	// DKIM is the list's own key; nil: the process's (Config.DKIM).
	DKIM *DKIM
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
	SoftLimit       int           // soft bounces within SoftWindow that mark it bounced; default 3, as inbound mail
	SoftWindow      time.Duration // default 30 days
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

	keyMu      sync.Mutex
	keyDomains map[string]bool // From domains the process key signed, to warn once
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
	// AdoptSettings lets this process's settings replace the ones the
	// send was started with, when no other process is sending it: an
	// operator's explicit command (tidings send) does; a daemon never.
	AdoptSettings bool
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
	if err := e.checkHold(ctx, &rep); err != nil {
		return rep, err
	}
	camp, err := e.deps.Campaigns.Campaign(ctx, issueID)
	if err != nil {
		return rep, err
	}
	ours := e.settingsFor(camp)
	if err := e.prepare(ctx, camp, ours, o); err != nil {
		return rep, err
	}
	e.noteProcessKey(camp)
	e.pool.reset()
	if err := e.countHourly(ctx); err != nil {
		return rep, err
	}
	r := &run{
		e:    e,
		camp: camp,
		opts: o,
		st: &logStore{d: e.deps.DB, issueID: issueID, listID: camp.ListID, owner: e.cfg.Owner,
			ttl: e.cfg.LeaseTTL, now: e.cfg.Now, fp: ours.Fingerprint()},
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
