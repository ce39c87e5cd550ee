// worker.go holds the workers: one SMTP connection each, picking a relay,
// sending claimed jobs and reporting relay trouble.

package mailer

import (
	"bytes"
	"database/sql"
	"errors"
	"time"

	"github.com/tidings/tidings"
)

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
	if key, _ := e.keyFor(r.camp); key != nil {
		signed.Reset()
		if err := key.sign(signed, msg, r.camp.Domain); err != nil {
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
