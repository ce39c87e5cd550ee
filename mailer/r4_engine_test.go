package mailer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestR4DataTimeout: a server that stalls its reply to the message
// costs one DATA timeout (not the longer command timeout, and never a
// hung worker); the message is retried and goes out.
func TestR4DataTimeout(t *testing.T) {
	const victim = "reader0001@example.com"
	f := newFixture(t, 6)
	var stalled atomic.Bool
	sink := startSink(t, smtpsink.Options{OnData: func(_ string, to []string, _ []byte) error {
		if to[0] == victim && stalled.CompareAndSwap(false, true) {
			time.Sleep(800 * time.Millisecond)
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.Timeouts = Timeouts{Dial: 5 * time.Second, Command: 10 * time.Second, Data: 250 * time.Millisecond}
	if _, err := f.engine(cfg).Send(context.Background(), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	d := f.log(t)[victim]
	if d.State != "sent" || d.Attempts != 2 || d.LastError != "" {
		t.Errorf("victim's delivery %+v: want sent on the second attempt after a DATA timeout", d)
	}
	// The stalled copy may still have been accepted by the server after
	// the client gave up: that is the one ambiguous copy, never more.
	if n := received(sink)[victim]; n < 1 || n > 2 {
		t.Errorf("server accepted %d copies for the victim", n)
	}
}

// TestR4Backoff: each retry waits twice as long as the one before, within
// ±25 % jitter, and never more than the cap (plus jitter).
func TestR4Backoff(t *testing.T) {
	base, limit := time.Second, 10*time.Second
	for attempts, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, limit, limit, limit} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff(base, limit, attempts)
			if d < want*3/4 || d > want*5/4 {
				t.Fatalf("backoff after %d attempts = %v, want %v ±25 %%", attempts, d, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("backoff after %d attempts has no jitter: %d distinct values in 200", attempts, len(seen))
		}
	}
}
