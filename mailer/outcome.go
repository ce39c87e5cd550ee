// outcome.go holds the outcomes of a delivery: sent, retried, failed or
// bounced, queued to the log writer.

package mailer

import (
	"database/sql"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/bounce"
)

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
				if err := r.st.fail(tx, id, tidings.DeliveryFailed, KindTemporary, v.reply, reply); err != nil {
					return err
				}
				if !v.aboutMailbox() {
					return nil
				}
				// This reader's mailbox refused the copy at RCPT until we
				// gave up (452 4.2.2 mailbox full): a soft bounce, as a DSN
				// whose sender gave up on the same code is; once, not per try.
				return r.st.bounceOnce(tx, id, bounce.Soft, v.enhanced, v.reply, e.bounceRules())
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
			return r.st.bounce(tx, id, bounce.Hard, v.enhanced, v.reply, e.bounceRules())
		})
		r.counts.bounced.Add(1)
		ev.Kind = EventBounced
	case KindPermanent:
		// A refusal of this reader's copy that does not say the mailbox
		// is gone (552 5.2.2 mailbox full, 550 5.7.1 policy): the delivery
		// failed, and it counts as a soft bounce, as the same code in a
		// DSN does.
		r.record(id, func(tx *sql.Tx) error {
			if err := r.st.fail(tx, id, tidings.DeliveryFailed, v.kind, v.reply, reply); err != nil {
				return err
			}
			return r.st.bounce(tx, id, bounce.Soft, v.enhanced, v.reply, e.bounceRules())
		})
		r.counts.failed.Add(1)
		ev.Kind = EventFailed
	default:
		r.record(id, func(tx *sql.Tx) error { return r.st.fail(tx, id, tidings.DeliveryFailed, v.kind, v.reply, reply) })
		r.counts.failed.Add(1)
		ev.Kind = EventFailed
	}
	e.cfg.Logger.Debug("delivery failed", "issue", r.camp.IssueID, "subscriber", id, "kind", v.kind, "reply", v.reply)
	e.observe(ev)
}

// bounceRules are the thresholds of package bounce this engine applies.
func (e *Engine) bounceRules() bounce.Rules {
	return bounce.Rules{HardLimit: e.cfg.BounceLimit, SoftLimit: e.cfg.SoftLimit, SoftWindow: e.cfg.SoftWindow}
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

// redactErr renders err for logs and the log table without the relay's password.
func redactErr(err error, r Relay) string {
	s := err.Error()
	if r.Password != "" {
		s = strings.ReplaceAll(s, r.Password, "xxxxx")
	}
	return RedactURL(s)
}
