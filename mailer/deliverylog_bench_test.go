package mailer

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkDeliveryLog is the delivery log's own ceiling on SQLite: the
// log work of b.N messages (claimed in batches, "sending" committed and
// waited for before DATA, "sent" queued after the reply: what every
// message costs the log) by 4, 16 and 64 workers, with no rendering and
// no SMTP. One op is one message; compare msgs/s with BenchmarkSend's to
// see the log's share of a send.
//
//	go test -run x -bench DeliveryLog -benchtime 20000x ./mailer/
func BenchmarkDeliveryLog(b *testing.B) {
	for _, conns := range []int{4, 16, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			b.StopTimer()
			ctx := context.Background()
			f := newSampleFixture(b, b.N)
			e := New(Config{Relays: []Relay{{Host: "127.0.0.1", Port: 25}}, Concurrency: conns}, Deps{DB: f.d, Campaigns: f, Recipients: f})
			ours := e.settingsFor(f.camp)
			if err := e.prepare(ctx, f.camp, ours, SendOptions{}); err != nil {
				b.Fatal(err)
			}
			st := &logStore{d: f.d, issueID: f.issueID, listID: f.camp.ListID, owner: e.cfg.Owner, ttl: time.Minute,
				now: time.Now, fp: ours.Fingerprint()}
			if err := st.prepare(ctx); err != nil {
				b.Fatal(err)
			}
			defer st.close()
			w := newWriter(f.d, conns, e.cfg.CommitDelay)
			jobs := make(chan job, e.cfg.ClaimBatch)
			b.StartTimer()
			start := time.Now()
			var claimErr error
			go func() {
				defer close(jobs)
				for {
					js, err := st.claim(ctx, e.cfg.ClaimBatch)
					if err != nil || len(js) == 0 {
						claimErr = err
						return
					}
					for _, j := range js {
						jobs <- j
					}
				}
			}()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var pending []<-chan error
			for range conns {
				wg.Go(func() {
					for j := range jobs {
						id := j.rc.SubscriberID
						if err := w.do(func(tx *sql.Tx) error { return st.sending(tx, id, "smtp://127.0.0.1:25", "<m@example.org>") }); err != nil {
							b.Error(err)
							return
						}
						ch := w.submit(func(tx *sql.Tx) error { return st.sent(tx, id, "250 2.0.0 OK") })
						mu.Lock()
						pending = append(pending, ch)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			for _, ch := range pending {
				if err := <-ch; err != nil {
					b.Fatal(err)
				}
			}
			w.close()
			elapsed := time.Since(start)
			b.StopTimer()
			if claimErr != nil {
				b.Fatal(claimErr)
			}
			c, err := countStates(ctx, f.d.R, f.issueID)
			if err != nil || c.Sent != b.N {
				b.Fatalf("sent %d of %d: %v", c.Sent, b.N, err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
		})
	}
}
