// Package track counts clicks and opens of sent issues and tells people
// from machines.
//
// Article links in a sent message point at {base}/c/{token}, the open
// image at {base}/o/{token}; the token is a short signed blob naming the
// issue, article, link, the message's send time and random nonce, the
// reader's topic set and — only when the list tracks per person — the
// subscriber. The handlers verify the token (memory only: a forged token
// costs one HMAC and nothing else), answer at once, and hand the event to
// a bounded in-memory buffer. A background writer holds each message's
// events for a few minutes, re-classifying them as later events (the
// hidden honeypot link, a burst) change the verdict, then writes the
// settled events in batches: counters per issue/article/link/topic
// set/verdict/reason/hour, and per-person rows in `individual` mode. A
// crash loses what is still buffered; a redirect never waits for SQLite.
package track

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// Config sets up a Tracker. Only DB and Signer are required.
type Config struct {
	DB         *db.DB
	Signer     *Signer
	Classifier *Classifier      // default NewClassifier(ScanWindow)
	ScanWindow time.Duration    // 0: the default 15s; used when Classifier is nil
	Now        func() time.Time // the clock that decides (tests control it)
	Logger     *slog.Logger
	// Hold is how long an event waits for re-classification before it is
	// counted; it must exceed the honeypot span (default 4 minutes).
	Hold time.Duration
	// Buffer bounds the events waiting for the writer (default 65 536);
	// beyond it events are dropped and counted, never waited for.
	Buffer int
	// MaxPending bounds the events held for re-classification (default
	// 200 000); beyond it the oldest messages are settled early.
	MaxPending int
	// FlushEvery is how often Run settles and writes (default 1 s).
	FlushEvery time.Duration
	// ClientIP finds the client's address (default: RemoteAddr).
	ClientIP func(*http.Request) netip.Addr
	// Metrics, when set, receives counts and redirect latencies.
	Metrics *Metrics
}

// Tracker serves /c/ and /o/ and writes their events.
type Tracker struct {
	cfg     Config
	signer  *Signer
	cls     *Classifier
	now     func() time.Time
	log     *slog.Logger
	in      chan *Event
	dropped atomic.Int64
	issues  issueCache

	mu       sync.Mutex // guards pending, npend and overflow
	pending  map[msgKey]*group
	npend    int
	overflow []*Event // decided at once: their message already held maxGroup events

	wmu sync.Mutex // one writer at a time
}

type msgKey struct {
	issue int64
	sent  int64
	nonce uint32
}

type group struct{ events []*Event }

// New makes a Tracker; call Run in a goroutine (or Sync from tests) and
// Close at shutdown to write what is held.
func New(cfg Config) (*Tracker, error) {
	if cfg.DB == nil || cfg.Signer == nil {
		return nil, errors.New("track: need a database and a signer")
	}
	if cfg.Classifier == nil {
		if cfg.ScanWindow == 0 {
			cfg.ScanWindow = DefaultScanWindow
		}
		cfg.Classifier = NewClassifier(cfg.ScanWindow)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hold <= 0 {
		cfg.Hold = DefaultHoneypotSpan + time.Minute
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1 << 16
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 200_000
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = remoteIP
	}
	t := &Tracker{
		cfg: cfg, signer: cfg.Signer, cls: cfg.Classifier, now: cfg.Now, log: cfg.Logger,
		in:      make(chan *Event, cfg.Buffer),
		pending: map[msgKey]*group{},
	}
	t.issues = issueCache{d: cfg.DB, now: cfg.Now, m: map[int64]*issueInfo{}}
	return t, nil
}

func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip
}

// Routes registers GET (and so HEAD) /c/{token} and /o/{token} on mux.
func (t *Tracker) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /c/{token}", t.ServeClick)
	mux.HandleFunc("GET /o/{token}", t.ServeOpen)
}

// ServeClick redirects a verified article-link token to its target and
// answers the honeypot; anything else is 404 and redirects nowhere.
func (t *Tracker) ServeClick(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ref, err := t.signer.verify(r.PathValue("token"))
	if err != nil || (ref.Kind != Click && ref.Kind != Honeypot) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if ref.Kind == Honeypot {
		h.Set("X-Robots-Tag", "noindex")
		w.WriteHeader(http.StatusNoContent)
	} else {
		info, err := t.issues.get(r.Context(), ref.Issue)
		if err != nil {
			t.log.Warn("track: issue lookup", "issue", ref.Issue, "err", err)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		u := info.url(ref.Position, ref.Link)
		if u == "" {
			http.NotFound(w, r)
			return
		}
		h.Set("Location", u)
		w.WriteHeader(http.StatusFound)
	}
	t.enqueue(r, &ref)
	t.cfg.Metrics.observeRedirect(time.Since(start))
}

// gif is the smallest transparent 1×1 GIF.
var gif = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// ServeOpen answers a verified open token with a 1×1 GIF that no cache
// keeps (each fetch is an event); anything else is 404.
func (t *Tracker) ServeOpen(w http.ResponseWriter, r *http.Request) {
	ref, err := t.signer.Verify(r.PathValue("token"), Open)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Cache-Control", "no-store, no-cache, private, max-age=0")
	h.Set("Content-Length", "43")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(gif)
	}
	t.enqueue(r, &ref)
}

// enqueue hands the event to the writer without ever waiting.
func (t *Tracker) enqueue(r *http.Request, ref *Ref) {
	if ref.Test {
		return
	}
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	ev := &Event{Ref: *ref, At: t.now(), Method: r.Method, UA: ua, IP: t.cfg.ClientIP(r)}
	select {
	case t.in <- ev:
	default:
		t.dropped.Add(1)
		t.cfg.Metrics.drop()
	}
}

// Dropped is how many events the full buffer refused.
func (t *Tracker) Dropped() int64 { return t.dropped.Load() }

// Run settles and writes events every FlushEvery and runs retention once
// a day, until ctx ends; then it writes everything still held.
func (t *Tracker) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.FlushEvery)
	defer tick.Stop()
	day := time.NewTicker(24 * time.Hour)
	defer day.Stop()
	if _, err := Retain(ctx, t.cfg.DB, t.now()); err != nil && ctx.Err() == nil {
		t.log.Warn("track: retention", "err", err)
	}
	for {
		select {
		case ev := <-t.in:
			t.add(ev)
		case <-tick.C:
			if err := t.Sync(ctx); err != nil && ctx.Err() == nil {
				t.log.Warn("track: write events", "err", err)
			}
		case <-day.C:
			if n, err := Retain(ctx, t.cfg.DB, t.now()); err != nil {
				t.log.Warn("track: retention", "err", err)
			} else if n > 0 {
				t.log.Info("track: per-person events past their list's activity days removed", "events", n)
			}
		case <-ctx.Done():
			return t.Close(context.WithoutCancel(ctx))
		}
	}
}

// drain moves everything waiting in the buffer into the held groups.
func (t *Tracker) drain() {
	for {
		select {
		case ev := <-t.in:
			t.add(ev)
		default:
			return
		}
	}
}

// maxGroup bounds the events held for one message: a person clicks a
// few links; a token replayed thousands of times must not make every
// arrival re-classify thousands of events. Events past it are a machine's
// (reason burst) and are written at the next flush.
const maxGroup = 64

// add holds ev with its message's other events. It does not classify:
// no rule reads another event's verdict, and take decides each event
// against its whole group when it settles, so classifying on every
// arrival (up to maxGroup² rule runs per message) would be thrown away.
func (t *Tracker) add(ev *Event) {
	k := msgKey{ev.Issue, ev.Sent.Unix(), ev.Nonce}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.pending[k]
	if g == nil {
		g = &group{}
		t.pending[k] = g
	}
	t.npend++
	if len(g.events) >= maxGroup {
		ev.Verdict = Verdict{Machine: true, Reason: "burst"}
		t.overflow = append(t.overflow, ev)
		return
	}
	g.events = append(g.events, ev)
}

// take removes and returns the events that are settled at now (all of
// them when all is set, or the oldest when too many are held).
func (t *Tracker) take(now time.Time, all bool) []*Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	cut := now.Add(-t.cfg.Hold)
	if t.npend > t.cfg.MaxPending && !all {
		cut = t.capacityCut(cut)
	}
	out := t.overflow
	t.overflow = nil
	for k, g := range t.pending {
		var keep []*Event
		for _, e := range g.events {
			if all || !e.At.After(cut) {
				// decided against the whole group, before it is trimmed
				e.Verdict = t.cls.Classify(e, g.events)
				out = append(out, e)
			} else {
				keep = append(keep, e)
			}
		}
		if len(keep) == 0 {
			delete(t.pending, k)
		} else {
			g.events = keep
		}
	}
	t.npend -= len(out)
	return out
}

// capacityCut is the settling cut when more than MaxPending events are
// held: late enough that the oldest settle early and a quarter of the
// room is free again, so memory stays bounded and the newest messages
// keep their re-classification.
func (t *Tracker) capacityCut(cut time.Time) time.Time {
	ats := make([]time.Time, 0, t.npend)
	for _, g := range t.pending {
		for _, e := range g.events {
			ats = append(ats, e.At)
		}
	}
	slices.SortFunc(ats, func(a, b time.Time) int { return a.Compare(b) })
	excess := len(ats) - t.cfg.MaxPending*3/4
	if excess <= 0 {
		return cut
	}
	if c := ats[excess-1]; c.After(cut) {
		return c
	}
	return cut
}

// Sync moves buffered events in, settles those held past Hold at the
// clock's now, and writes them in one transaction.
func (t *Tracker) Sync(ctx context.Context) error {
	t.drain()
	evs := t.take(t.now(), false)
	if err := t.write(ctx, evs); err != nil {
		t.requeue(evs)
		return err
	}
	return nil
}

// requeue keeps settled events whose write failed for the next flush, as
// long as the held events stay within MaxPending; the rest are dropped.
func (t *Tracker) requeue(evs []*Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	room := max(t.cfg.MaxPending-t.npend, 0)
	keep := evs[:min(len(evs), room)]
	t.overflow = append(t.overflow, keep...)
	t.npend += len(keep)
	if lost := len(evs) - len(keep); lost > 0 {
		t.dropped.Add(int64(lost))
		for range lost {
			t.cfg.Metrics.drop()
		}
	}
}

// Close settles and writes every event held, whatever its age.
func (t *Tracker) Close(ctx context.Context) error {
	t.drain()
	return t.write(ctx, t.take(t.now(), true))
}

// Pending is how many events are held, waiting to settle.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.npend + len(t.in)
}

// issueInfo is what the handlers and the writer need of one issue.
type issueInfo struct {
	list    string
	clicks  tidings.Tracking
	opens   tidings.Tracking
	links   map[[2]int]string
	expires time.Time
}

func (i *issueInfo) url(pos, link int) string { return i.links[[2]int{pos, link}] }

// issueCache keeps issues' links and their list's modes in memory for a
// minute, so a click costs no query after the first of its issue and a
// mode change applies within a minute.
type issueCache struct {
	d   *db.DB
	now func() time.Time
	mu  sync.RWMutex
	m   map[int64]*issueInfo
}

func (c *issueCache) get(ctx context.Context, id int64) (*issueInfo, error) {
	now := c.now()
	c.mu.RLock()
	in := c.m[id]
	c.mu.RUnlock()
	if in != nil && now.Before(in.expires) {
		return in, nil
	}
	in = &issueInfo{links: map[[2]int]string{}, expires: now.Add(time.Minute)}
	var clicks, opens string
	err := c.d.R.QueryRowContext(ctx, `SELECT l.slug, l.clicks, l.opens FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?`, id).
		Scan(&in.list, &clicks, &opens)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// a deleted issue: its links lead nowhere, and that is remembered
		// like a found one so a flood of its tokens costs no queries
		in.clicks, in.opens = tidings.TrackOff, tidings.TrackOff
	case err != nil:
		return nil, fmt.Errorf("track: issue %d: %w", id, err)
	default:
		in.clicks, in.opens = tidings.Tracking(clicks), tidings.Tracking(opens)
		rows, err := c.d.R.QueryContext(ctx, `SELECT position, link, url FROM track_links WHERE issue_id = ?`, id)
		if err != nil {
			return nil, fmt.Errorf("track: issue %d links: %w", id, err)
		}
		defer rows.Close()
		for rows.Next() {
			var p, l int
			var u string
			if err := rows.Scan(&p, &l, &u); err != nil {
				return nil, fmt.Errorf("track: issue %d links: %w", id, err)
			}
			in.links[[2]int{p, l}] = u
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("track: issue %d links: %w", id, err)
		}
	}
	c.mu.Lock()
	if len(c.m) > 10_000 {
		clear(c.m)
	}
	c.m[id] = in
	c.mu.Unlock()
	return in, nil
}
