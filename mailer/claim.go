// claim.go holds claiming and leases: the loop that keeps the job queue
// filled from the delivery log and the loop that renews held leases.

package mailer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"time"
)

var randRead = rand.Read

// claimLoop keeps the job queue filled from the log until nothing is
// left to send, or the run stops.
func (r *run) claimLoop() {
	defer close(r.jobs)
	e := r.e
	for r.stopCtx.Err() == nil {
		if r.heldByEditor() {
			return
		}
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
