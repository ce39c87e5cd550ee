package mailer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestRateLimits: --rate (across workers) and a relay's rate= each
// hold a send to that many messages per second. Only a lower bound on
// the time taken is checked: a slow machine can make a send slower,
// never faster, so this cannot flake.
func TestRateLimits(t *testing.T) {
	const perSec = 40.0
	for _, tc := range []struct {
		name string
		set  func(*Config)
	}{
		{"global --rate", func(c *Config) { c.Rate = perSec }},
		{"relay rate=", func(c *Config) { c.Relays[0].Rate = perSec }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 16) // 12 deliverable
			sink := startSink(t, smtpsink.Options{})
			cfg := fastConfig(sinkRelay(t, sink))
			cfg.Concurrency = 4
			tc.set(&cfg)
			if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
				t.Fatal(err)
			}
			msgs := sink.Messages()
			if len(msgs) != 12 {
				t.Fatalf("sink got %d messages, want 12", len(msgs))
			}
			first, last := msgs[0].Received, msgs[0].Received
			for _, m := range msgs {
				if m.Received.Before(first) {
					first = m.Received
				}
				if m.Received.After(last) {
					last = m.Received
				}
			}
			// 12 messages at 40/s with a burst of one: 11 gaps of 25 ms.
			// Allow one gap of slack for the spread between taking a
			// token and the server receiving the message.
			if min := time.Duration(10 * float64(time.Second) / perSec); last.Sub(first) < min {
				t.Errorf("12 messages arrived within %v; at %v/s they need at least %v", last.Sub(first), perSec, min)
			}
		})
	}
}

// TestRelayConnectionCap: conns= caps a relay's parallel connections
// below the engine's concurrency, and the send still ends promptly.
func TestRelayConnectionCap(t *testing.T) {
	f := newFixture(t, 24)
	var mu sync.Mutex
	inData, most := 0, 0
	sink := startSink(t, smtpsink.Options{OnData: func(string, []string, []byte) error {
		mu.Lock()
		inData++
		most = max(most, inData)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // lets other connections overlap if they exist
		mu.Lock()
		inData--
		mu.Unlock()
		return nil
	}})
	r, err := ParseRelayURL("smtp://" + sink.Addr + "?conns=1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(r)
	cfg.Concurrency = 4
	// Workers beyond the cap hold a job each while they wait for the one
	// connection. The connection must be handed over once it has no more
	// work, not kept until it has idled for IdleTimeout: with an hour of
	// that, the send would never end in time.
	cfg.IdleTimeout = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if rep, err := f.engine(cfg).Send(ctx, f.issueID, SendOptions{}); err != nil {
		t.Fatalf("send did not finish within 20 s (%v, %d pending): the capped relay's connection was not handed to the waiting workers", err, rep.Pending)
	}
	if sink.Count() != len(f.deliverable()) || most != 1 {
		t.Errorf("%d messages, up to %d at once through a relay with conns=1", sink.Count(), most)
	}
}

// TestConnectionReuse: each worker keeps its connection for many
// messages instead of connecting per message.
func TestConnectionReuse(t *testing.T) {
	f := newFixture(t, 40) // 30 deliverable
	sink := startSink(t, smtpsink.Options{})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.Concurrency = 2
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if sink.Count() != 30 || sink.Sessions() > 2 {
		t.Errorf("%d messages over %d sessions; want 30 over at most 2 (one per worker)", sink.Count(), sink.Sessions())
	}
}
