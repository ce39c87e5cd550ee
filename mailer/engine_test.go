package mailer

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

func TestSendDeliversEachRecipientOnce(t *testing.T) {
	f := newFixture(t, 40)
	sink := startSink(t, smtpsink.Options{})
	e := f.engine(fastConfig(sinkRelay(t, sink)))
	var progress atomic.Int64
	rep, err := e.Send(testCtx(t), f.issueID, SendOptions{Progress: func(Counts) { progress.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	want := f.deliverable()
	if rep.Sent != len(want) || rep.Skipped != 10 || rep.Pending != 0 || rep.Total != 40 {
		t.Errorf("report %+v, want %d sent, 10 skipped", rep, len(want))
	}
	got := received(sink)
	for _, a := range want {
		if got[a] != 1 {
			t.Errorf("%s received %d copies, want 1", a, got[a])
		}
	}
	if len(got) != len(want) {
		t.Errorf("sink got mail for %d addresses, want %d", len(got), len(want))
	}
	for _, m := range sink.Messages() {
		if !strings.HasPrefix(m.From, "bounces+tok") || !strings.HasSuffix(m.From, "@example.org") {
			t.Errorf("MAIL FROM %q is not the VERP return path", m.From)
		}
	}
	log := f.log(t)
	for i, rc := range f.subs {
		addr, d := rc.Email, log[rc.Email]
		bio := i%4 == 3
		if bio && d.State != "skipped" || !bio && (d.State != "sent" || d.Attempts != 1 || !strings.HasPrefix(d.Reply, "250")) {
			t.Errorf("%s: %+v", addr, d)
		}
	}
	if st := f.scalar(t, `SELECT status FROM issues WHERE id = ?`, f.issueID); st != "sent" {
		t.Errorf("issue status %s, want sent", st)
	}
	if st := f.scalar(t, `SELECT state FROM sends WHERE issue_id = ?`, f.issueID); st != "done" {
		t.Errorf("send state %s, want done", st)
	}
	if progress.Load() == 0 {
		t.Error("progress callback never called")
	}
	// A second send of a finished issue sends nothing.
	rep, err = e.Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil || rep.Sent != len(want) || sink.Count() != len(want) {
		t.Errorf("second send: %+v, %v; sink has %d", rep, err, sink.Count())
	}
}

// onceFor makes a hook that fails for addr the first n times only.
func onceFor(n int, fail error) func(addr string) error {
	var mu sync.Mutex
	seen := map[string]int{}
	return func(addr string) error {
		mu.Lock()
		defer mu.Unlock()
		seen[addr]++
		if seen[addr] <= n {
			return fail
		}
		return nil
	}
}

func TestFailurePaths(t *testing.T) {
	const victim = "reader0001@example.com" // topics: ai
	type want struct {
		state, kind string
		attempts    int
		reply       string // substring of smtp_reply or last_error
		received    int    // copies the server accepted for victim
	}
	cases := []struct {
		name string
		opts func() smtpsink.Options
		want want
	}{
		{"451 then accepted", func() smtpsink.Options {
			h := onceFor(1, smtpsink.Reply(451, "4.3.0", "try later"))
			return smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim {
					return h(to)
				}
				return nil
			}}
		}, want{"sent", "", 2, "250", 1}},
		{"452 every time fails after max attempts", func() smtpsink.Options {
			return smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim {
					return smtpsink.Reply(452, "4.2.2", "mailbox full")
				}
				return nil
			}}
		}, want{"failed", "temporary", 3, "452 4.2.2", 0}},
		{"550 5.1.1 is a hard bounce", func() smtpsink.Options {
			return smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim {
					return smtpsink.Reply(550, "5.1.1", "no such user")
				}
				return nil
			}}
		}, want{"bounced", "recipient", 1, "550 5.1.1", 0}},
		{"554 after DATA is permanent", func() smtpsink.Options {
			return smtpsink.Options{OnData: func(_ string, to []string, _ []byte) error {
				if to[0] == victim {
					return smtpsink.Reply(554, "5.6.0", "content rejected")
				}
				return nil
			}}
		}, want{"failed", "permanent", 1, "554 5.6.0", 0}},
		{"dropped mid-DATA is retried", func() smtpsink.Options {
			h := onceFor(1, smtpsink.ErrDrop)
			return smtpsink.Options{OnData: func(_ string, to []string, _ []byte) error {
				if to[0] == victim {
					return h(victim)
				}
				return nil
			}}
		}, want{"sent", "", 2, "250", 1}},
		{"stalled RCPT times out and is retried", func() smtpsink.Options {
			var stalled atomic.Bool
			return smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim && stalled.CompareAndSwap(false, true) {
					time.Sleep(700 * time.Millisecond)
				}
				return nil
			}}
		}, want{"sent", "", 2, "250", 1}},
		{"421 on RCPT reconnects and retries", func() smtpsink.Options {
			h := onceFor(1, smtpsink.Reply(421, "4.7.0", "closing"))
			return smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim {
					return h(to)
				}
				return nil
			}}
		}, want{"sent", "", 1, "250", 1}}, // throttling does not count as an attempt
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 6)
			sink := startSink(t, tc.opts())
			cfg := fastConfig(sinkRelay(t, sink))
			cfg.Timeouts.Command = 300 * time.Millisecond
			cfg.RecoverEvery = time.Millisecond
			e := f.engine(cfg)
			if _, err := e.Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
				t.Fatal(err)
			}
			d := f.log(t)[victim]
			if d.State != tc.want.state || d.FailKind != tc.want.kind || d.Attempts != tc.want.attempts {
				t.Errorf("log: %+v, want state %s kind %q attempts %d", d, tc.want.state, tc.want.kind, tc.want.attempts)
			}
			if !strings.Contains(d.Reply+" "+d.LastError, tc.want.reply) {
				t.Errorf("reply %q / error %q lacks %q", d.Reply, d.LastError, tc.want.reply)
			}
			got := received(sink)
			if got[victim] != tc.want.received {
				t.Errorf("server accepted %d copies for the victim, want %d", got[victim], tc.want.received)
			}
			// Everyone else is unaffected.
			for _, a := range f.deliverable() {
				if a != victim && got[a] != 1 {
					t.Errorf("%s received %d copies", a, got[a])
				}
			}
			if st := f.scalar(t, `SELECT status FROM issues WHERE id = ?`, f.issueID); st != "sent" {
				t.Errorf("issue status %s", st)
			}
		})
	}
}

func TestHardBounceMarksSubscription(t *testing.T) {
	const victim = "reader0002@example.com"
	for _, limit := range []int{1, 2} {
		f := newFixture(t, 4)
		sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
			if to == victim {
				return smtpsink.Reply(550, "5.1.1", "user unknown")
			}
			return nil
		}})
		cfg := fastConfig(sinkRelay(t, sink))
		cfg.BounceLimit = limit
		if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := f.scalar(t, `SELECT count(*) || '/' || max(code) || '/' || max(kind) FROM bounces WHERE list_id = ?`, f.listID); n != "1/5.1.1/hard" {
			t.Errorf("limit %d: bounces %s", limit, n)
		}
		st := f.scalar(t, `SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id WHERE p.email = ?`, victim)
		if want := map[int]string{1: "bounced", 2: "confirmed"}[limit]; st != want {
			t.Errorf("limit %d: subscription %s, want %s", limit, st, want)
		}
	}
}

func TestAuthFailurePausesAndResumes(t *testing.T) {
	f := newFixture(t, 8)
	sink := startSink(t, smtpsink.Options{Users: map[string]string{"editor": "right-pass"}})
	bad, err := ParseRelayURL("smtp://editor:s3cret-wrong@" + sink.Addr)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := f.engine(fastConfig(bad)).Send(testCtx(t), f.issueID, SendOptions{})
	if !errors.Is(err, ErrPaused) || !rep.Paused {
		t.Fatalf("err %v, report %+v: want paused", err, rep)
	}
	if strings.Contains(err.Error(), "s3cret") || strings.Contains(rep.Reason, "s3cret") {
		t.Errorf("password leaked: %v", err)
	}
	if !strings.Contains(rep.Reason, "535") {
		t.Errorf("reason %q lacks the 535 reply", rep.Reason)
	}
	if st := f.scalar(t, `SELECT state || ':' || reason FROM sends WHERE issue_id = ?`, f.issueID); !strings.HasPrefix(st, "paused:") || strings.Contains(st, "s3cret") {
		t.Errorf("sends row %q", st)
	}
	if sink.Count() != 0 || rep.Pending != len(f.deliverable()) {
		t.Errorf("sink got %d, pending %d", sink.Count(), rep.Pending)
	}
	good, _ := ParseRelayURL("smtp://editor:right-pass@" + sink.Addr)
	rep, err = f.engine(fastConfig(good)).Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil || rep.Sent != len(f.deliverable()) || sink.Count() != len(f.deliverable()) {
		t.Fatalf("resume: %+v %v, sink %d", rep, err, sink.Count())
	}
	for _, m := range sink.Messages() {
		if m.User != "editor" {
			t.Errorf("message sent without AUTH: %+v", m.User)
		}
	}
}

func TestConnectRefusalPauses(t *testing.T) {
	f := newFixture(t, 4)
	sink := startSink(t, smtpsink.Options{OnConnect: func() error { return smtpsink.Reply(421, "4.3.2", "service not available") }})
	rep, err := f.engine(fastConfig(sinkRelay(t, sink))).Send(testCtx(t), f.issueID, SendOptions{})
	if !errors.Is(err, ErrPaused) || !strings.Contains(rep.Reason, "421") {
		t.Fatalf("err %v, reason %q", err, rep.Reason)
	}
	if sink.Count() != 0 {
		t.Errorf("sink got %d", sink.Count())
	}
	for a, d := range f.log(t) {
		if d.State != "pending" && d.State != "skipped" || d.Attempts != 0 {
			t.Errorf("%s: %+v", a, d)
		}
	}
}

func TestRelayFailover(t *testing.T) {
	f := newFixture(t, 20)
	down := startSink(t, smtpsink.Options{OnConnect: func() error { return smtpsink.Reply(421, "4.3.2", "go away") }})
	up := startSink(t, smtpsink.Options{})
	upRelay := sinkRelay(t, up)
	ev := &events{}
	cfg := fastConfig(sinkRelay(t, down), upRelay)
	cfg.Observer = ev
	rep, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != len(f.deliverable()) || up.Count() != rep.Sent || down.Count() != 0 {
		t.Errorf("report %+v; good relay %d, bad relay %d", rep, up.Count(), down.Count())
	}
	for a, d := range f.log(t) {
		if d.State == "sent" && d.Relay != upRelay.Redacted() {
			t.Errorf("%s went through %q", a, d.Relay)
		}
	}
	if len(ev.of(EventRelayDown)) == 0 {
		t.Error("no relay_down event for the failing relay")
	}
}

func TestThrottlingHalvesRateAndRetries(t *testing.T) {
	f := newFixture(t, 12)
	var throttled atomic.Bool
	sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if throttled.CompareAndSwap(false, true) {
			return smtpsink.Reply(451, "4.7.0", "Throttling failure: Maximum sending rate exceeded.")
		}
		return nil
	}})
	r := sinkRelay(t, sink)
	r.Rate = 200
	ev := &events{}
	cfg := fastConfig(r)
	cfg.Observer = ev
	cfg.RecoverEvery = time.Hour // no recovery during the test
	e := f.engine(cfg)
	rep, err := e.Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	th := ev.of(EventThrottled)
	if len(th) != 1 || th[0].Rate != 100 {
		t.Fatalf("throttle events %+v, want one halving 200 → 100", th)
	}
	if got := e.RelayRates()[r.Redacted()]; got != 100 {
		t.Errorf("relay rate now %v, want 100", got)
	}
	if rep.Sent != len(f.deliverable()) || sink.Count() != rep.Sent {
		t.Errorf("report %+v, sink %d: the throttled message was lost", rep, sink.Count())
	}
}

func TestAdditiveIncreaseAfterThrottle(t *testing.T) {
	rs := newRelayState(Relay{Rate: 100})
	now := time.Unix(1000, 0)
	if from, to, ok := rs.throttled(now, time.Second); !ok || from != 100 || to != 50 {
		t.Fatalf("throttled: %v %v %v", from, to, ok)
	}
	if _, _, ok := rs.throttled(now.Add(10*time.Millisecond), time.Second); ok {
		t.Error("a second throttle reply within the hold halved again")
	}
	var rates []float64
	for i := 1; i <= 7; i++ {
		rs.recover(now.Add(time.Duration(i)*10*time.Second), 10*time.Second)
		rates = append(rates, rs.Rate())
	}
	want := []float64{60, 70, 80, 90, 100, 100, 100}
	for i := range want {
		if rates[i] != want[i] {
			t.Fatalf("rates while recovering %v, want %v", rates, want)
		}
	}
	// Unlimited relay: halves the measured rate, then returns to unlimited.
	u := newRelayState(Relay{})
	for i := 0; i < 50; i++ {
		u.success(now)
	}
	if _, to, _ := u.throttled(now, time.Second); to != 5 { // 50 in the 5 s meter = 10/s
		t.Errorf("unlimited relay throttled to %v, want 5", to)
	}
	for i := 1; i <= 10; i++ {
		u.recover(now.Add(time.Duration(i)*time.Minute), time.Second)
	}
	if u.Rate() != 0 {
		t.Errorf("unlimited relay did not return to unlimited: %v", u.Rate())
	}
}

func TestUnsubscribeDuringSendSkips(t *testing.T) {
	f := newFixture(t, 12)
	const leaver = "reader0009@example.com"
	var once sync.Once
	sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		once.Do(func() {
			_, err := f.d.W.Exec(`UPDATE subscriptions SET status = 'unsubscribed'
				WHERE subscriber_id = (SELECT id FROM subscribers WHERE email = ?)`, leaver)
			if err != nil {
				t.Error(err)
			}
		})
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.Concurrency = 1
	cfg.ClaimBatch = 1
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := received(sink)[leaver]; n != 0 {
		t.Errorf("the reader who left got %d copies", n)
	}
	if d := f.log(t)[leaver]; d.State != "skipped" {
		t.Errorf("leaver's delivery: %+v", d)
	}
	if got := sink.Count(); got != len(f.deliverable())-1 {
		t.Errorf("sink got %d, want %d", got, len(f.deliverable())-1)
	}
}

func TestInterruptLeavesRestPendingAndResumes(t *testing.T) {
	f := newFixture(t, 40)
	ctx, cancel := context.WithCancel(testCtx(t))
	var n atomic.Int64
	sink := startSink(t, smtpsink.Options{OnData: func(string, []string, []byte) error {
		if n.Add(1) == 5 {
			cancel()
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	rep, err := f.engine(cfg).Send(ctx, f.issueID, SendOptions{})
	if !errors.Is(err, ErrInterrupted) || !rep.Interrupted || rep.Pending == 0 {
		t.Fatalf("err %v report %+v", err, rep)
	}
	if rep.Sent != sink.Count() {
		t.Errorf("log says %d sent, server has %d: in-flight messages were not recorded", rep.Sent, sink.Count())
	}
	if held := f.scalar(t, `SELECT count(*) FROM deliveries WHERE lease_owner != ''`); held != "0" {
		t.Errorf("%s leases left behind", held)
	}
	rep, err = f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil || rep.Pending != 0 {
		t.Fatalf("resume: %v %+v", err, rep)
	}
	for a, c := range received(sink) {
		if c != 1 {
			t.Errorf("%s got %d copies", a, c)
		}
	}
	if sink.Count() != len(f.deliverable()) {
		t.Errorf("sink %d want %d", sink.Count(), len(f.deliverable()))
	}
}

func TestRetryFailedRequeuesTemporaryOnly(t *testing.T) {
	f := newFixture(t, 8)
	var fix atomic.Bool
	sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		switch {
		case to == "reader0000@example.com":
			return smtpsink.Reply(550, "5.1.1", "unknown")
		case !fix.Load():
			return smtpsink.Reply(451, "4.4.1", "no answer from host")
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	rep, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != len(f.deliverable())-1 || rep.Bounced != 1 {
		t.Fatalf("first pass %+v", rep)
	}
	fix.Store(true)
	rep, err = f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{RetryFailed: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sent != len(f.deliverable())-1 || rep.Bounced != 1 || rep.Failed != 0 {
		t.Errorf("after --retry-failed: %+v", rep)
	}
}

func TestTwoEnginesNeverDoubleSend(t *testing.T) {
	f := newFixture(t, 200)
	path := f.d.Path
	other, err := openDB(t, path)
	if err != nil {
		t.Fatal(err)
	}
	sink := startSink(t, smtpsink.Options{})
	relay := sinkRelay(t, sink)
	f2 := *f
	f2.d = other
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, fx := range []*fixture{f, &f2} {
		wg.Go(func() {
			cfg := fastConfig(relay)
			cfg.ClaimBatch = 8
			_, errs[i] = fx.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	relays := map[string]bool{}
	for a, c := range received(sink) {
		if c != 1 {
			t.Errorf("%s got %d copies", a, c)
		}
	}
	if sink.Count() != len(f.deliverable()) {
		t.Errorf("sink %d, want %d", sink.Count(), len(f.deliverable()))
	}
	_ = relays
}

func TestReconnectsAfterMessagesPerConn(t *testing.T) {
	f := newFixture(t, 16) // 12 deliverable
	sink := startSink(t, smtpsink.Options{})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.Concurrency = 1
	cfg.MessagesPerConn = 3
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if sink.Count() != 12 || sink.Sessions() < 4 {
		t.Errorf("%d messages over %d sessions; want 12 over at least 4", sink.Count(), sink.Sessions())
	}
}

func TestCircuitBreakerCoolsDown(t *testing.T) {
	now := time.Unix(5000, 0)
	a, b := newRelayState(Relay{Host: "a", Port: 25}), newRelayState(Relay{Host: "b", Port: 25})
	p := &pool{relays: []*relayState{a, b}, perConn: 1, now: func() time.Time { return now }}
	if a.failure(now, "421", 2, time.Minute) {
		t.Fatal("one failure opened the circuit")
	}
	if !a.failure(now, "421", 2, time.Minute) {
		t.Fatal("two failures did not open the circuit")
	}
	if rs, down, _ := p.pick(); rs != b || down {
		t.Fatalf("picked %v (all down %v), want b", rs, down)
	}
	if rs, down, why := p.pick(); rs != nil || down || why == "" {
		t.Fatalf("b is busy, a is out: got %v %v %q", rs, down, why)
	}
	b.markBroken("535 auth")
	b.release()
	if rs, down, why := p.pick(); rs != nil || !down || !strings.Contains(why, "535") || !strings.Contains(why, "421") {
		t.Fatalf("want every relay down, got %v %v %q", rs, down, why)
	}
	now = now.Add(61 * time.Second)
	if rs, _, _ := p.pick(); rs != a {
		t.Fatalf("after the cool-down a is back: got %v", rs)
	}
}

func TestHourlyCap(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 59, 0, 0, time.UTC)
	rs := newRelayState(Relay{Hourly: 2})
	clock := func() time.Time { return now }
	for i := 0; i < 2; i++ {
		if err := rs.wait(context.Background(), clock); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rs.wait(ctx, clock); !errors.Is(err, context.Canceled) {
		t.Fatalf("third message in the hour was not held back: %v", err)
	}
	now = now.Add(2 * time.Minute) // the next clock hour
	if err := rs.wait(context.Background(), clock); err != nil {
		t.Fatal(err)
	}
}

func TestObserverSeesSends(t *testing.T) {
	f := newFixture(t, 4)
	sink := startSink(t, smtpsink.Options{})
	e := f.engine(fastConfig(sinkRelay(t, sink)))
	ev := &events{}
	e.SetObserver(ev)
	if _, err := e.Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := ev.of(EventSent)
	if len(sent) != 3 || sent[0].List != "keji" || sent[0].Duration <= 0 || sent[0].IssueID != f.issueID {
		t.Errorf("sent events %+v", sent)
	}
}
