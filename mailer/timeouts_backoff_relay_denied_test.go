package mailer

import (
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestDataTimeout: a server that stalls its reply to the message
// costs one DATA timeout (not the longer command timeout, and never a
// hung worker); the message is retried and goes out.
func TestDataTimeout(t *testing.T) {
	const victim = "reader0001@example.com"
	f := newFixture(t, 6)
	var stalled atomic.Bool
	sink := startSink(t, smtpsink.Options{OnData: func(_ string, to []string, _ []byte) error {
		if to[0] == victim && stalled.CompareAndSwap(false, true) {
			time.Sleep(3 * time.Second)
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.Timeouts = Timeouts{Dial: 5 * time.Second, Command: 20 * time.Second, Data: time.Second}
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
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

// TestBackoff: each retry waits twice as long as the one before, within
// ±25 % jitter, and never more than the cap (plus jitter).
func TestBackoff(t *testing.T) {
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

// TestRelayAccessDeniedPauses: a relay that refuses to relay for us
// (credentials forgotten) refuses every recipient alike: the send pauses
// with the reply instead of marking the whole list failed for good.
func TestRelayAccessDeniedPauses(t *testing.T) {
	for _, tc := range []struct {
		code      int
		enhanced  string
		text      string
		permanent bool // a refusal that is about the one recipient
	}{
		{554, "5.7.1", "<reader0000@example.com>: Relay access denied", false},
		{550, "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain", false},
		{550, "", "relaying denied", false},
		{550, "5.7.1", "message refused by policy", true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			f := newFixture(t, 4)
			sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
				return smtpsink.Reply(tc.code, tc.enhanced, tc.text)
			}})
			rep, err := f.engine(fastConfig(sinkRelay(t, sink))).Send(testCtx(t), f.issueID, SendOptions{})
			if tc.permanent {
				if err != nil || rep.Failed != 3 {
					t.Errorf("a per-message policy refusal: %v %+v, want 3 failed", err, rep)
				}
				return
			}
			if !errors.Is(err, ErrPaused) || !strings.Contains(rep.Reason, strconv.Itoa(tc.code)) {
				t.Fatalf("err %v, reason %q: want the send paused with the reply", err, rep.Reason)
			}
			for a, d := range f.log(t) {
				if d.State != "pending" && d.State != "skipped" || d.Attempts != 0 {
					t.Errorf("%s: %+v, want still pending", a, d)
				}
			}
		})
	}
}
