package mailer

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tidings/tidings/db"
)

// writer group-commits the delivery log: every state change of every
// worker goes through one goroutine that folds whatever is queued into a
// single transaction. At a few thousand messages a second one
// transaction per message would be SQLite's ceiling; batched, the log
// costs a small fraction of the send.
type writer struct {
	d    *db.DB
	ch   chan *writeOp
	done chan struct{}
	// gather is how many operations a commit waits for, at most delay:
	// about one per worker. Every commit costs BEGIN, COMMIT and a WAL
	// write; waiting a fraction of a millisecond for the other workers'
	// changes makes fewer, larger commits (a commit delay, as databases
	// do for group commit).
	gather int
	delay  time.Duration
}

type writeOp struct {
	fn  func(tx *sql.Tx) error
	err chan error
}

// maxGroup bounds one transaction, so a waiting worker's commit is never
// held up behind a huge backlog.
const maxGroup = 512

func newWriter(d *db.DB, gather int, delay time.Duration) *writer {
	w := &writer{d: d, ch: make(chan *writeOp, 1024), done: make(chan struct{}), gather: gather, delay: delay}
	go w.loop()
	return w
}

// submit queues fn; the returned channel yields its result once committed.
func (w *writer) submit(fn func(tx *sql.Tx) error) <-chan error {
	op := &writeOp{fn: fn, err: make(chan error, 1)}
	w.ch <- op
	return op.err
}

// do runs fn in the next group commit and waits for the commit.
func (w *writer) do(fn func(tx *sql.Tx) error) error { return <-w.submit(fn) }

// close commits what is queued and stops the goroutine.
func (w *writer) close() {
	close(w.ch)
	<-w.done
}

func (w *writer) loop() {
	defer close(w.done)
	batch := make([]*writeOp, 0, maxGroup)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for op := range w.ch {
		batch = append(batch[:0], op)
	fill:
		for len(batch) < maxGroup {
			select {
			case o, ok := <-w.ch:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		if len(batch) < w.gather && w.delay > 0 {
			timer.Reset(w.delay)
		wait:
			for len(batch) < w.gather {
				select {
				case o, ok := <-w.ch:
					if !ok {
						break wait
					}
					batch = append(batch, o)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		w.commit(batch)
	}
}

func (w *writer) commit(batch []*writeOp) {
	// The log must be written even while the send is being cancelled: a
	// message that went out has to be recorded as sent.
	ctx := context.Background()
	errs := make([]error, len(batch))
	err := w.d.WriteTx(ctx, func(tx *sql.Tx) error {
		for i, op := range batch {
			errs[i] = op.fn(tx)
		}
		return nil
	})
	for i, op := range batch {
		if err != nil {
			op.err <- fmt.Errorf("delivery log: %w", err)
		} else if errs[i] != nil {
			op.err <- fmt.Errorf("delivery log: %w", errs[i])
		} else {
			op.err <- nil
		}
	}
}
