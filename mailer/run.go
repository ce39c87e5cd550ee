// run.go holds one send in progress: its lifecycle (start, pause,
// interrupt, finish) and the bookkeeping of rows it holds.

package mailer

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

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
