package track

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// In aggregate mode no stored row names a person, even when a token
// (from before the list switched) carries a subscriber.
func TestAggregateStoresNoPerson(t *testing.T) {
	f := newFixture(t, "aggregate", "aggregate")
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Open, 0, 0, 2, f.subs[0])), uaFirefox)
	f.settle(t)
	if n := f.rowCount(t, `SELECT COUNT(*) FROM track_events`); n != 0 {
		t.Errorf("%d per-person rows in aggregate mode", n)
	}
	if got := f.counts(t); !equalCounts(got, map[string]int{"click 1/1 human ": 1, "open 0/0 human ": 1}) {
		t.Errorf("counts %v", got)
	}
	var topicSet int64
	f.d.R.QueryRow(`SELECT topic_set FROM track_counts LIMIT 1`).Scan(&topicSet)
	if topicSet != 0b11 {
		t.Errorf("topic set %b, want the token's", topicSet)
	}
}

// Individual mode: the person's human events are their activity (machine
// ones are not); erasing the person drops their rows and keeps the
// figures; retention folds old rows away and keeps the figures too.
func TestIndividualActivityErasureAndRetention(t *testing.T) {
	f := newFixture(t, "individual", "individual")
	ada, bo := f.subs[0], f.subs[1]
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 2, 1, 1, ada)), uaFirefox)
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Open, 0, 0, 1, ada)), uaFirefox)
	f.do(t, sentAt.Add(5*time.Second), "GET", f.url(f.ref(Click, 1, 1, 2, bo)), uaFirefox) // scan window
	f.do(t, sentAt.Add(2*time.Hour), "GET", f.url(f.ref(Click, 1, 2, 2, bo)), uaSafariIOS)
	f.settle(t)
	ctx := context.Background()
	act, err := PersonActivity(ctx, f.d, ada)
	if err != nil {
		t.Fatal(err)
	}
	if len(act) != 2 || act[0].Issue != f.issue {
		t.Fatalf("activity %+v", act)
	}
	kinds := map[string]string{}
	for _, a := range act {
		kinds[a.Kind] = a.URL
		if !a.At.Equal(sentAt.Add(time.Hour)) {
			t.Errorf("at %v", a.At)
		}
	}
	if kinds["click"] != "http://example.net/three" || kinds["open"] != "" {
		t.Errorf("activity %+v", act)
	}
	boAct, _ := PersonActivity(ctx, f.d, bo)
	if len(boAct) != 1 || boAct[0].URL != "https://example.com/two" {
		t.Errorf("bo's activity %+v: want only the human click", boAct)
	}

	// bo's click in the scan window is in the counters, not kept about bo
	if n := f.rowCount(t, `SELECT COUNT(*) FROM track_events WHERE verdict = 'machine'`); n != 0 {
		t.Errorf("%d machine events kept per person", n)
	}
	if got := f.counts(t)["click 1/1 machine scan_window"]; got != 1 {
		t.Errorf("counters: %v, want bo's scan-window click", f.counts(t))
	}
	before := f.counts(t)
	if _, err := f.d.W.Exec(`DELETE FROM subscribers WHERE id = ?`, ada); err != nil {
		t.Fatal(err)
	}
	if n := f.rowCount(t, `SELECT COUNT(*) FROM track_events WHERE subscriber_id = ?`, ada); n != 0 {
		t.Errorf("%d rows of the erased person", n)
	}
	if after := f.counts(t); !equalCounts(before, after) {
		t.Errorf("erasure changed the figures: %v → %v", before, after)
	}

	// activity_days is 30 in the fixture
	if n, err := Retain(ctx, f.d, sentAt.Add(29*24*time.Hour)); err != nil || n != 0 {
		t.Errorf("retention after 29 days removed %d (%v)", n, err)
	}
	if n, err := Retain(ctx, f.d, sentAt.Add(31*24*time.Hour)); err != nil || n != 1 {
		t.Errorf("retention after 31 days removed %d (%v), want bo's human click", n, err)
	}
	if after := f.counts(t); !equalCounts(before, after) {
		t.Errorf("retention changed the figures: %v → %v", before, after)
	}
}

// A list whose tracking is off writes nothing (its old links still
// redirect); a test copy's token redirects and counts nothing.
func TestOffAndTestTokensWriteNothing(t *testing.T) {
	f := newFixture(t, "off", "off")
	res := f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	if res.StatusCode != 302 {
		t.Errorf("old link of a list now off: %d", res.StatusCode)
	}
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Open, 0, 0, 1, 0)), uaFirefox)
	f.settle(t)
	if n := f.rowCount(t, `SELECT COUNT(*) FROM track_counts`) + f.rowCount(t, `SELECT COUNT(*) FROM track_events`); n != 0 {
		t.Errorf("%d rows written for a list that tracks nothing", n)
	}

	g := newFixture(t, "individual", "aggregate")
	r := g.ref(Click, 1, 1, 1, g.subs[0])
	r.Test = true
	if res := g.do(t, sentAt.Add(time.Hour), "GET", g.url(r), uaFirefox); res.StatusCode != 302 {
		t.Errorf("test token: %d", res.StatusCode)
	}
	g.settle(t)
	if n := g.rowCount(t, `SELECT COUNT(*) FROM track_counts`); n != 0 {
		t.Errorf("a test copy's click was counted")
	}
}

// A full buffer drops events (counted) and never blocks a redirect.
func TestFullBufferDrops(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	tr, err := New(Config{DB: f.d, Signer: f.signer, Now: f.clk.Now, Buffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.tr = tr
	mux := newMux(tr)
	for range 5 {
		rec := serve(mux, "GET", "/c/"+f.signer.Sign(f.ref(Click, 1, 1, 1, 0)))
		if rec.Code != 302 {
			t.Fatalf("%d", rec.Code)
		}
	}
	if tr.Dropped() != 3 || tr.Pending() != 2 {
		t.Errorf("dropped %d pending %d, want 3 and 2", tr.Dropped(), tr.Pending())
	}
}

// A write that fails (the database gone for a moment) keeps the settled
// events for the next flush instead of losing them.
func TestFailedWriteKeepsEvents(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	ctx := context.Background()
	f.clk.Set(sentAt.Add(2 * time.Hour))
	cctx, cancel := context.WithCancel(ctx)
	cancel() // the write's transaction cannot begin
	if err := f.tr.Sync(cctx); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
	if f.tr.Pending() != 1 {
		t.Fatalf("pending %d after a failed write, want 1", f.tr.Pending())
	}
	if err := f.tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.counts(t); !equalCounts(got, map[string]int{"click 1/1 human ": 1}) {
		t.Errorf("counts %v", got)
	}
}

// Retention also drops the per-person rows of a kind the list stopped
// tracking individually (written by a process whose cached mode was
// stale), whatever their age; the other kind keeps its rows until its days
// are up, and the counters keep every event.
func TestRetentionDropsKindsNoLongerIndividual(t *testing.T) {
	f := newFixture(t, "individual", "individual")
	ada := f.subs[0]
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Click, 2, 1, 1, ada)), uaFirefox)
	f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Open, 0, 0, 1, ada)), uaFirefox)
	f.settle(t)
	before := f.counts(t)
	if _, err := f.d.W.Exec(`UPDATE lists SET clicks = 'aggregate'`); err != nil {
		t.Fatal(err)
	}
	if n, err := Retain(context.Background(), f.d, sentAt.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("retention removed %d (%v), want the click row", n, err)
	}
	if n := f.rowCount(t, `SELECT COUNT(*) FROM track_events WHERE kind = 'open' AND subscriber_id = ?`, ada); n != 1 {
		t.Errorf("%d open rows left, want 1 (opens are still individual)", n)
	}
	if after := f.counts(t); !equalCounts(before, after) {
		t.Errorf("retention changed the figures: %v → %v", before, after)
	}
}

// A list's new mode applies to events within a minute of the tracker's
// clock (the issue cache's lifetime), not of the wall clock.
func TestModeChangeAppliesAfterTheCacheMinute(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	ctx := context.Background()
	t1 := sentAt.Add(time.Hour)
	f.do(t, t1, "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	f.clk.Set(t1.Add(5 * time.Minute))
	if err := f.tr.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.W.Exec(`UPDATE lists SET clicks = 'off'`); err != nil {
		t.Fatal(err)
	}
	res := f.do(t, t1.Add(7*time.Minute), "GET", f.url(f.ref(Click, 1, 2, 2, 0)), uaFirefox)
	if res.StatusCode != http.StatusFound {
		t.Errorf("a link of a list now off: %d, want it to still redirect", res.StatusCode)
	}
	f.settle(t)
	if got := f.counts(t); !equalCounts(got, map[string]int{"click 1/1 human ": 1}) {
		t.Errorf("counts %v: want only the click made before clicks were turned off", got)
	}
}
