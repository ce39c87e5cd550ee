package track

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// step is one request in a scenario: when (after delivery), what, by whom.
type step struct {
	after     time.Duration
	kind      Kind
	pos, link int
	method    string
	ua        string
}

// A scanner that looks like a browser (so only the honeypot or the burst
// gives it away) and the reader of the same message, in every order: the
// person's one click must count human and every scanner request machine,
// whenever the writer happens to run.
func TestReclassificationInEveryOrder(t *testing.T) {
	min := time.Minute
	scan := func(at time.Duration, honeypotFirst bool) []step {
		links := []step{
			{at, Click, 1, 1, "GET", uaFirefox},
			{at + 200*time.Millisecond, Click, 1, 2, "GET", uaFirefox},
			{at + 400*time.Millisecond, Click, 2, 1, "GET", uaFirefox},
		}
		hp := step{at + 600*time.Millisecond, Honeypot, 0, 0, "GET", uaFirefox}
		if honeypotFirst {
			hp.after = at - 100*time.Millisecond
			return append([]step{hp}, links...)
		}
		return append(links, hp)
	}
	person := func(at time.Duration) step { return step{at, Click, 1, 2, "GET", uaSafariIOS} }
	cases := map[string][]step{
		"scanner before the person, honeypot last":  append(scan(30*time.Second, false), person(40*min)),
		"scanner before the person, honeypot first": append(scan(30*time.Second, true), person(40*min)),
		"scanner after the person, honeypot last":   append([]step{person(20 * min)}, scan(90*min, false)...),
		"scanner after the person, honeypot first":  append([]step{person(20 * min)}, scan(90*min, true)...),
		"scanner around the person":                 append(append(scan(time.Minute, false), person(30*min)), scan(70*min, true)...),
		"gateway in the scan window without the honeypot, then the person": {
			{3 * time.Second, Click, 1, 1, "HEAD", uaMimecast}, {4 * time.Second, Click, 1, 1, "GET", uaFirefox}, person(5 * min)},
		"person, then a link checker re-scanning one link": append([]step{person(5 * min)},
			step{2 * time.Hour, Click, 1, 2, "HEAD", uaBing}, step{2*time.Hour + time.Second, Click, 1, 2, "GET", uaBing}),
	}
	wantHuman := map[string]int{}
	for name, steps := range cases {
		for _, syncEvery := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/sync-each-request=%v", name, syncEvery), func(t *testing.T) {
				f := newFixture(t, "aggregate", "aggregate")
				scannerReqs := 0
				for _, s := range steps {
					r := f.ref(s.kind, s.pos, s.link, 7, 0)
					f.do(t, sentAt.Add(s.after), s.method, f.url(r), s.ua)
					if s.ua != uaSafariIOS {
						scannerReqs++
					}
					if syncEvery {
						if err := f.tr.Sync(context.Background()); err != nil {
							t.Fatal(err)
						}
					}
				}
				f.clk.Set(f.clk.Now().Add(time.Hour))
				if err := f.tr.Sync(context.Background()); err != nil {
					t.Fatal(err)
				}
				if n := f.tr.Pending(); n != 0 {
					t.Fatalf("%d events still held an hour later", n)
				}
				human, machine := 0, 0
				for k, n := range f.counts(t) {
					if k[len(k)-len(" human "):] == " human " {
						human += n
					} else {
						machine += n
					}
				}
				want := 1
				if w, ok := wantHuman[name]; ok {
					want = w
				}
				if human != want || machine != scannerReqs {
					t.Errorf("human %d machine %d, want %d and %d: %v", human, machine, want, scannerReqs, f.counts(t))
				}
			})
		}
	}
}

// Nothing is counted before it settles, and a settled event is counted
// exactly once however often the writer runs.
func TestSettleOnce(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	ctx := context.Background()
	for _, d := range []time.Duration{0, time.Minute, 3 * time.Minute} {
		f.clk.Set(sentAt.Add(time.Hour + d))
		f.tr.Sync(ctx)
		if len(f.counts(t)) != 0 {
			t.Fatalf("counted %v after %v, before it settled", f.counts(t), d)
		}
	}
	for range 3 {
		f.clk.Set(f.clk.Now().Add(5 * time.Minute))
		f.tr.Sync(ctx)
	}
	if got := f.counts(t); !equalCounts(got, map[string]int{"click 1/1 human ": 1}) {
		t.Errorf("counts %v", got)
	}
}

// One token replayed far more often than a person clicks is held no
// longer than any other event and counted in full, without re-classifying
// the whole flood at every arrival.
func TestReplayedTokenFlood(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	mux := newMux(f.tr)
	path := "/c/" + f.signer.Sign(f.ref(Click, 1, 1, 9, 0))
	f.clk.Set(sentAt.Add(time.Hour))
	for range 5000 {
		if rec := serve(mux, "GET", path); rec.Code != 302 {
			t.Fatalf("%d", rec.Code)
		}
	}
	start := time.Now()
	f.clk.Set(sentAt.Add(2 * time.Hour))
	if err := f.tr.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("settling 5000 events of one message took %v", d)
	}
	total := 0
	for _, n := range f.counts(t) {
		total += n
	}
	if total != 5000 || f.tr.Pending() != 0 {
		t.Errorf("counted %d, pending %d", total, f.tr.Pending())
	}
	if n := f.counts(t)["click 1/1 machine burst"]; n != 5000-maxGroup {
		t.Errorf("%d machine clicks past the first %d of one message, want %d", n, maxGroup, 5000-maxGroup)
	}
}

// Past MaxPending the oldest events settle early and the newest stay
// held; nothing is lost.
func TestCapacitySettlesOldestFirst(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	tr, err := New(Config{DB: f.d, Signer: f.signer, Now: f.clk.Now, MaxPending: 8})
	if err != nil {
		t.Fatal(err)
	}
	mux := newMux(tr)
	for i := range 12 {
		f.clk.Set(sentAt.Add(time.Hour + time.Duration(i)*time.Second))
		if rec := serve(mux, "GET", "/c/"+f.signer.Sign(f.ref(Click, 1, 1, uint32(100+i), 0))); rec.Code != 302 {
			t.Fatal(rec.Code)
		}
	}
	ctx := context.Background()
	if err := tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tr.Pending(); n != 6 {
		t.Errorf("%d held after settling past capacity, want 6 (3/4 of 8)", n)
	}
	var at int64
	f.d.R.QueryRow(`SELECT SUM(n) FROM track_counts`).Scan(&at)
	if at != 6 {
		t.Errorf("%d counted early, want the 6 oldest", at)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	f.d.R.QueryRow(`SELECT SUM(n) FROM track_counts`).Scan(&at)
	if at != 12 {
		t.Errorf("%d counted in all, want 12", at)
	}
}
