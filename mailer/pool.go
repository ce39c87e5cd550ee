package mailer

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// relayState is one relay's health and pacing, shared by every worker
// (and every send) of an engine.
type relayState struct {
	r    Relay
	name string // Redacted URL

	mu        sync.Mutex
	active    int       // open connections
	fails     int       // consecutive connection-level failures
	openUntil time.Time // circuit breaker: out until then
	broken    string    // why the relay cannot work as configured ("" = fine)
	lastErr   string

	lim        *rate.Limiter // adaptive: halved on throttling, raised step by step
	ceiling    float64       // configured rate, 0 = none
	base       float64       // rate to climb back to after throttling
	lastAdjust time.Time

	hourStart time.Time // fixed-window hourly cap
	hourCount int

	meterSec   int64 // per-second counts of the last meterLen seconds, to
	meterCount [meterLen]int
}

const meterLen = 5

func newRelayState(r Relay) *relayState {
	rs := &relayState{r: r, name: r.Redacted(), ceiling: r.Rate}
	if r.Rate > 0 {
		rs.lim = rate.NewLimiter(rate.Limit(r.Rate), 1)
	} else {
		rs.lim = rate.NewLimiter(rate.Inf, 1)
	}
	return rs
}

// pool picks relays for workers: healthy ones with a free connection,
// least busy first.
type pool struct {
	relays  []*relayState
	perConn int // default connection cap per relay
	breaker int // consecutive failures that open the circuit
	cool    time.Duration
	now     func() time.Time
}

// reset forgets health: a new send starts with every relay in service
// (the operator may have fixed the password since the pause).
func (p *pool) reset() {
	for _, rs := range p.relays {
		rs.mu.Lock()
		rs.fails, rs.openUntil, rs.broken, rs.lastErr = 0, time.Time{}, "", ""
		rs.mu.Unlock()
	}
}

// pick reserves a connection slot. With none free it says whether every
// relay is down (broken or circuit open), and why.
func (p *pool) pick() (rs *relayState, allDown bool, why string) {
	now := p.now()
	var best *relayState
	bestActive := 0
	down := 0
	var reasons []string
	for _, r := range p.relays {
		r.mu.Lock()
		switch {
		case r.broken != "":
			down++
			reasons = append(reasons, r.name+": "+r.broken)
		case now.Before(r.openUntil):
			down++
			reasons = append(reasons, r.name+": "+r.lastErr)
		case r.hourFullLocked(now):
			// Its hourly cap is used up: busy until the next clock hour,
			// not down. Workers wait without a connection, which the
			// relay would drop long before the hour is over.
			reasons = append(reasons, fmt.Sprintf("%s: hourly cap of %d reached", r.name, r.r.Hourly))
		default:
			limit := p.perConn
			if r.r.Conns > 0 {
				limit = r.r.Conns
			}
			if r.active < limit && (best == nil || r.active < bestActive) {
				best, bestActive = r, r.active
			}
		}
		r.mu.Unlock()
	}
	if best != nil {
		best.mu.Lock()
		best.active++
		best.mu.Unlock()
		return best, false, ""
	}
	return nil, down == len(p.relays), strings.Join(reasons, "; ")
}

func (rs *relayState) release() {
	rs.mu.Lock()
	rs.active--
	rs.mu.Unlock()
}

// failure counts a connection-level failure and opens the circuit after
// threshold of them in a row. It reports whether the circuit opened.
func (rs *relayState) failure(now time.Time, why string, threshold int, cool time.Duration) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.fails++
	rs.lastErr = why
	if rs.fails >= threshold {
		rs.openUntil = now.Add(cool)
		return true
	}
	return false
}

func (rs *relayState) markBroken(why string) {
	rs.mu.Lock()
	rs.broken = why
	rs.mu.Unlock()
}

func (rs *relayState) success(now time.Time) {
	rs.mu.Lock()
	rs.fails = 0
	sec := now.Unix()
	if sec != rs.meterSec {
		for s := rs.meterSec + 1; s <= sec && s <= rs.meterSec+meterLen; s++ {
			rs.meterCount[s%meterLen] = 0
		}
		if sec-rs.meterSec > meterLen {
			rs.meterCount = [meterLen]int{}
		}
		rs.meterSec = sec
	}
	rs.meterCount[sec%meterLen]++
	rs.mu.Unlock()
}

// measured is the recent send rate, messages per second.
func (rs *relayState) measuredLocked(now time.Time) float64 {
	if now.Unix()-rs.meterSec > meterLen {
		return 0
	}
	n := 0
	for _, c := range rs.meterCount {
		n += c
	}
	return float64(n) / meterLen
}

// throttled halves the relay's rate (multiplicative decrease). Replies
// from several connections arrive together: one halving per hold.
func (rs *relayState) throttled(now time.Time, hold time.Duration) (from, to float64, changed bool) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if now.Sub(rs.lastAdjust) < hold && !rs.lastAdjust.IsZero() {
		return 0, 0, false
	}
	cur := float64(rs.lim.Limit())
	if rs.lim.Limit() == rate.Inf || cur <= 0 {
		cur = rs.measuredLocked(now)
		if cur < 2 {
			cur = 2
		}
	}
	if rs.base == 0 {
		rs.base = cur
		if rs.ceiling > 0 {
			rs.base = rs.ceiling
		}
	}
	to = cur / 2
	if to < 0.1 {
		to = 0.1
	}
	rs.lim.SetLimitAt(now, rate.Limit(to))
	rs.lastAdjust = now
	return cur, to, true
}

// recover raises a throttled rate by a tenth of its base every interval
// without throttling (additive increase), back to the configured rate.
func (rs *relayState) recover(now time.Time, every time.Duration) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.base == 0 || now.Sub(rs.lastAdjust) < every {
		return
	}
	cur := float64(rs.lim.Limit())
	step := math.Max(rs.base/10, 0.1)
	next := cur + step
	if next >= rs.base {
		if rs.ceiling > 0 {
			rs.lim.SetLimitAt(now, rate.Limit(rs.ceiling))
		} else {
			rs.lim.SetLimitAt(now, rate.Inf)
		}
		rs.base = 0
	} else {
		rs.lim.SetLimitAt(now, rate.Limit(next))
	}
	rs.lastAdjust = now
}

// Rate is the relay's current limit (0 = none).
func (rs *relayState) Rate() float64 {
	if rs.lim.Limit() == rate.Inf {
		return 0
	}
	return float64(rs.lim.Limit())
}

// hourFullLocked reports whether the hourly cap is used up for the
// clock hour of now.
func (rs *relayState) hourFullLocked(now time.Time) bool {
	return rs.r.Hourly > 0 && now.Sub(rs.hourStart) < time.Hour && rs.hourCount >= rs.r.Hourly
}

// takeHourly takes one message of the hourly cap, if any is left in the
// clock hour of now (a fixed window). Without a cap it always succeeds.
func (rs *relayState) takeHourly(now time.Time) bool {
	if rs.r.Hourly <= 0 {
		return true
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if now.Sub(rs.hourStart) >= time.Hour {
		rs.hourStart, rs.hourCount = now.Truncate(time.Hour), 0
	}
	if rs.hourCount >= rs.r.Hourly {
		return false
	}
	rs.hourCount++
	return true
}

// countHour starts the hourly window with the n messages already sent
// through the relay in the clock hour of now (by earlier runs, which the
// cap must not forget on a restart or resume).
func (rs *relayState) countHour(now time.Time, n int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if h := now.Truncate(time.Hour); !rs.hourStart.Equal(h) || n > rs.hourCount {
		rs.hourStart, rs.hourCount = h, n
	}
}

// wait blocks until this relay may take another message: its hourly cap
// (takeHourly, waiting for the next clock hour when it is used up) and
// its rate. The engine's workers do not block on the cap (they take it
// with takeHourly and give up the connection while it is full); this
// blocking form is the cap's reference behaviour.
func (rs *relayState) wait(ctx context.Context, now func() time.Time) error {
	for !rs.takeHourly(now()) {
		rs.mu.Lock()
		until := rs.hourStart.Add(time.Hour).Sub(now())
		rs.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(until):
		}
	}
	return rs.lim.Wait(ctx)
}
