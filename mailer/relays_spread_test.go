package mailer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestThreeRelaysSpreadAndRecover sends over three real SMTP servers at
// once and takes one of them out mid-send and back: the work is spread
// over the three while all are up; while B is gone (its listener closed:
// connection refused, as when the relay's process dies) A and C carry the
// send and B's circuit opens; once B listens again and its cool-down has
// passed, reconnecting workers pick it up again. Every reader gets the
// issue; only messages inside DATA on B when it died may arrive twice.
func TestThreeRelaysSpreadAndRecover(t *testing.T) {
	const (
		readers = 1200 // 900 deliverable: a quarter's topic is not in the issue
		conns   = 6
		perConn = 20 // reconnect often, so a relay back from its cool-down is seen soon
		outAt   = 200
		backAt  = 450
		delay   = 4 * time.Millisecond // per message: the send lasts long enough to take B out and back
	)
	f := newFixture(t, readers)
	want := f.deliverable()

	var mu sync.Mutex
	copies := map[string]int{}
	var total atomic.Int64
	onData := func(_ string, to []string, _ []byte) error {
		time.Sleep(delay)
		mu.Lock()
		copies[to[0]]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	a := startSink(t, smtpsink.Options{OnData: onData})
	b := startSink(t, smtpsink.Options{OnData: onData})
	c := startSink(t, smtpsink.Options{OnData: onData})
	relays := []Relay{sinkRelay(t, a), sinkRelay(t, b), sinkRelay(t, c)}

	cfg := fastConfig(relays...)
	cfg.Concurrency = conns
	cfg.MessagesPerConn = perConn
	cfg.Cooldown = 100 * time.Millisecond
	ev := &events{}
	cfg.Observer = ev

	// The out-and-back, driven by the count of messages accepted so far,
	// so a slow machine changes the timing but not the story.
	type snap struct{ a, b, c int }
	var atOut, atBack snap
	var b2 *smtpsink.Server
	done := make(chan struct{})
	stepped := make(chan struct{})
	go func() {
		defer close(stepped)
		for total.Load() < outAt {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
		atOut = snap{a.Count(), b.Count(), c.Count()}
		b.Close()
		for total.Load() < backAt {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
		atBack = snap{a.Count(), b.Count(), c.Count()}
		s, err := smtpsink.Start(smtpsink.Options{Addr: b.Addr, OnData: onData})
		if err != nil {
			t.Errorf("relay B back on %s: %v", b.Addr, err)
			return
		}
		b2 = s
	}()

	rep, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
	close(done)
	<-stepped
	if err != nil {
		t.Fatal(err)
	}
	if b2 == nil {
		t.Fatalf("the send ended before B came back (out at %+v, %d accepted in all)", atOut, total.Load())
	}
	defer b2.Close()

	if rep.Sent != len(want) || rep.Failed != 0 {
		t.Errorf("report %+v, want %d sent and none failed", rep, len(want))
	}
	// Spread while all three were up: each relay had a fair part of the
	// first outAt messages (a third each, give or take).
	for name, n := range map[string]int{"A": atOut.a, "B": atOut.b, "C": atOut.c} {
		if n < outAt/6 {
			t.Errorf("relay %s had %d of the first %d messages; the three were %+v", name, n, outAt, atOut)
		}
	}
	// B out: A and C carried everything between out and back.
	grew := (atBack.a - atOut.a) + (atBack.c - atOut.c)
	if onB := atBack.b - atOut.b; onB > conns || grew < (backAt-outAt)/2 {
		t.Errorf("while B was out: A and C took %d messages, B %d (only those inside DATA as it died)", grew, onB)
	}
	if len(ev.of(EventRelayDown)) == 0 {
		t.Error("no relay_down event while B was out")
	}
	// B back: it took work again, a fair part of what was left.
	rest := len(want) - backAt
	if b2.Count() < rest/10 {
		t.Errorf("B back took %d of the last %d messages; want at least %d", b2.Count(), rest, rest/10)
	}

	// Every reader got the issue; a copy twice only if it was inside DATA
	// on B when B died (at most one per connection on B).
	mu.Lock()
	dups := 0
	for _, addr := range want {
		switch n := copies[addr]; {
		case n == 0:
			t.Errorf("%s never got the issue", addr)
		case n > 1:
			dups += n - 1
		}
	}
	mu.Unlock()
	if dups > conns {
		t.Errorf("%d duplicates; at most %d (one per connection on B when it died)", dups, conns)
	}
	// The log names the relay each message went through, matching the
	// servers' counts.
	perRelay := map[string]int{}
	for _, d := range f.log(t) {
		if d.State == "sent" {
			perRelay[d.Relay]++
		}
	}
	for i, n := range []int{a.Count(), b.Count() + b2.Count(), c.Count()} {
		if got := perRelay[relays[i].Redacted()]; got > n || got < n-conns {
			t.Errorf("the log says %d went through %s; its server accepted %d", got, relays[i].Redacted(), n)
		}
	}
	t.Logf("first %d: A %d, B %d, C %d; while B out: A +%d, C +%d; B back took %d of the last %d; the log: A %d, B %d, C %d; %d duplicates",
		outAt, atOut.a, atOut.b, atOut.c, atBack.a-atOut.a, atBack.c-atOut.c, b2.Count(), rest,
		perRelay[relays[0].Redacted()], perRelay[relays[1].Redacted()], perRelay[relays[2].Redacted()], dups)
}
