package schedule_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/schedule"
)

// clock is a fake clock shared by stores and schedulers of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fakeSender stands in for the delivery engine: it marks the issue sent
// (as the engine does when every delivery is done) and counts completed
// sends. interrupt makes the next call return unfinished, like a send cut
// by a stop or a paused relay; panic makes it panic.
type fakeSender struct {
	t         *testing.T
	d         *db.DB
	clock     *clock
	mu        sync.Mutex
	completed map[int64]int
	calls     []int64
	at        []time.Time
	interrupt int
	panics    int
}

func newSender(t *testing.T, d *db.DB, c *clock) *fakeSender {
	return &fakeSender{t: t, d: d, clock: c, completed: map[int64]int{}}
}

func (f *fakeSender) Send(ctx context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, id)
	f.at = append(f.at, f.clock.Now())
	var status string
	if err := f.d.R.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, id).Scan(&status); err != nil {
		return err
	}
	if status != "sending" {
		f.t.Errorf("Send(%d) called with issue status %q", id, status)
	}
	if f.panics > 0 {
		f.panics--
		panic("boom")
	}
	if f.interrupt > 0 {
		f.interrupt--
		return nil // unfinished: status stays "sending"
	}
	f.completed[id]++
	_, err := f.d.W.ExecContext(ctx, `UPDATE issues SET status = 'sent', sent_at = ? WHERE id = ?`, f.clock.Now().Unix(), id)
	return err
}

func (f *fakeSender) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func addList(t testing.TB, d *db.DB, slug, tz string) int64 {
	t.Helper()
	res, err := d.W.Exec(`INSERT INTO lists (slug, name, from_addr, lang, tz, created_at) VALUES (?, ?, ?, 'en', ?, 0)`,
		slug, slug, "News <news@example.org>", tz)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

func addIssue(t testing.TB, d *db.DB, list int64, number int, status string) int64 {
	t.Helper()
	res, err := d.W.Exec(`INSERT INTO issues (list_id, number, title, status, created_at) VALUES (?, ?, ?, ?, 0)`,
		list, number, "Issue", status)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

func issueStatus(t *testing.T, d *db.DB, id int64) string {
	t.Helper()
	var s string
	if err := d.R.QueryRow(`SELECT status FROM issues WHERE id = ?`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is a fresh database with one list "news" in zone, a fake clock
// at start, and a schedule store on that clock.
func fixture(t testing.TB, start time.Time, zone string) (*db.DB, *clock, *schedule.Store, int64) {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	c := newClock(start)
	st := schedule.NewStore(d)
	st.Now = c.Now
	return d, c, st, addList(t, d, "news", zone)
}

func newScheduler(d *db.DB, c *clock, s schedule.Sender, owner string) *schedule.Scheduler {
	return schedule.New(schedule.Config{DB: d, Sender: s, Now: c.Now, Owner: owner, Logger: quiet()})
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func step(t *testing.T, s *schedule.Scheduler) []int64 {
	t.Helper()
	ids, err := s.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustList(t *testing.T, st *schedule.Store) []schedule.Schedule {
	t.Helper()
	l, err := st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestOneOff(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "UTC")
	iss := addIssue(t, d, list, 1, "draft")
	if _, err := st.AddOnce(context.Background(), iss, c.Now().Add(time.Hour), ""); err != nil {
		t.Fatal(err)
	}
	snd := newSender(t, d, c)
	s := newScheduler(d, c, snd, "a")
	c.Add(59*time.Minute + 59*time.Second)
	if ids := step(t, s); len(ids) != 0 {
		t.Fatalf("sent %v a second early", ids)
	}
	c.Add(time.Second)
	if ids := step(t, s); len(ids) != 1 || ids[0] != iss {
		t.Fatalf("at the time: sent %v", ids)
	}
	for range 3 {
		c.Add(time.Minute)
		step(t, s)
	}
	if snd.completed[iss] != 1 || len(snd.calls) != 1 {
		t.Errorf("sends = %v", snd.calls)
	}
	if got := issueStatus(t, d, iss); got != "sent" {
		t.Errorf("status = %q", got)
	}
	if n := len(mustList(t, st)); n != 0 {
		t.Errorf("fired one-off still listed")
	}
}

func TestRecurringSendsReadyIssuesOldestFirst(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 7, 0, 0, 0, time.UTC), "UTC")
	other := addList(t, d, "other", "UTC")
	i3 := addIssue(t, d, list, 3, "ready")
	i1 := addIssue(t, d, list, 1, "ready")
	draft := addIssue(t, d, list, 2, "draft")
	sent := addIssue(t, d, list, 4, "sent")
	foreign := addIssue(t, d, other, 1, "ready")
	if _, err := st.AddCron(context.Background(), list, "0 8 * * *", ""); err != nil {
		t.Fatal(err)
	}
	snd := newSender(t, d, c)
	s := newScheduler(d, c, snd, "a")
	step(t, s)
	c.Set(time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC))
	step(t, s)
	if len(snd.calls) != 2 || snd.calls[0] != i1 || snd.calls[1] != i3 {
		t.Errorf("sent %v, want [%d %d]", snd.calls, i1, i3)
	}
	for id, want := range map[int64]string{draft: "draft", sent: "sent", foreign: "ready"} {
		if got := issueStatus(t, d, id); got != want {
			t.Errorf("issue %d: %q, want %q", id, got, want)
		}
	}
}

func TestCatchUp(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2024, 7, d, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name   string
		grace  time.Duration
		down   time.Time // the daemon starts again at this time
		sends  int
		status string
	}{
		{"3h late within 24h grace", 0, day(1, 11), 1, "sent"},
		{"missed 3 ticks, latest 1h late", 0, day(4, 9), 1, "sent"},
		{"5h late past 2h grace", 2 * time.Hour, day(1, 13), 0, "ready"},
		{"a year later, 5h past the last tick", 2 * time.Hour, day(1, 13).AddDate(1, 0, 0), 0, "ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, c, st, list := fixture(t, day(1, 7), "UTC")
			iss := addIssue(t, d, list, 1, "ready")
			if _, err := st.AddCron(context.Background(), list, "0 8 * * *", ""); err != nil {
				t.Fatal(err)
			}
			c.Set(tc.down)
			snd := newSender(t, d, c)
			s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Grace: tc.grace, Logger: quiet()})
			for range 5 { // the first pass decides; the rest must not change it
				step(t, s)
				c.Add(time.Second)
			}
			if len(snd.calls) != tc.sends {
				t.Errorf("sends = %d, want %d", len(snd.calls), tc.sends)
			}
			if got := issueStatus(t, d, iss); got != tc.status {
				t.Errorf("status = %q, want %q", got, tc.status)
			}
		})
	}

	t.Run("one-off past grace goes back to the editor", func(t *testing.T) {
		d, c, st, list := fixture(t, day(1, 7), "UTC")
		iss := addIssue(t, d, list, 1, "ready")
		if _, err := st.AddOnce(context.Background(), iss, day(1, 8), ""); err != nil {
			t.Fatal(err)
		}
		c.Set(day(3, 8))
		snd := newSender(t, d, c)
		step(t, newScheduler(d, c, snd, "a"))
		if len(snd.calls) != 0 || issueStatus(t, d, iss) != "ready" || len(mustList(t, st)) != 0 {
			t.Errorf("sends %v, status %q, schedules %d", snd.calls, issueStatus(t, d, iss), len(mustList(t, st)))
		}
	})
}

// TestRestartsNeverDoubleSend restarts the scheduler hundreds of times on
// one database while the clock runs, sometimes crashing mid-send (the
// send is left unfinished and the lease is not released), and checks
// every ready issue is sent exactly once and none is lost.
func TestRestartsNeverDoubleSend(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), "Europe/Berlin")
	if _, err := st.AddCron(context.Background(), list, "*/10 * * * *", ""); err != nil {
		t.Fatal(err)
	}
	snd := newSender(t, d, c)
	var issues []int64
	number := 0
	for restart := range 300 {
		if restart%3 == 0 {
			number++
			issues = append(issues, addIssue(t, d, list, number, "ready"))
		}
		if restart%7 == 0 {
			number++
			id := addIssue(t, d, list, number, "draft")
			issues = append(issues, id)
			if _, err := st.AddOnce(context.Background(), id, c.Now().Add(time.Duration(restart%5+1)*time.Minute), ""); err != nil {
				t.Fatal(err)
			}
		}
		crash := restart%4 == 1
		if crash {
			snd.interrupt = 1
		}
		s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Owner: "p" + string(rune('a'+restart%26)) + time.Now().Format("150405.000000000"),
			Logger: quiet(), LeaseTTL: 15 * time.Second, Retry: time.Second})
		for range restart%4 + 1 {
			step(t, s)
			c.Add(time.Duration(restart%9+1) * time.Minute / 2)
		}
		if crash {
			c.Add(16 * time.Second) // the dead holder's lease runs out
		} else {
			// a clean stop gives the lease up
			if _, err := d.W.Exec(`DELETE FROM leases`); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Let the last ones fire and finish.
	s := newScheduler(d, c, snd, "final")
	for range 10 {
		c.Add(10 * time.Minute)
		step(t, s)
	}
	for _, id := range issues {
		if n := snd.completed[id]; n != 1 {
			t.Errorf("issue %d completed %d times", id, n)
		}
		if got := issueStatus(t, d, id); got != "sent" {
			t.Errorf("issue %d: status %q", id, got)
		}
	}
	t.Logf("%d issues, %d send calls", len(issues), len(snd.calls))
}

func TestLeaseOneSenderAndTakeover(t *testing.T) {
	path := t.TempDir() + "/tidings.db"
	open := func() *db.DB {
		d, err := db.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	da, db2 := open(), open() // two processes' handles on one file
	c := newClock(time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC))
	st := schedule.NewStore(da)
	st.Now = c.Now
	list := addList(t, da, "news", "UTC")
	i1 := addIssue(t, da, list, 1, "draft")
	i2 := addIssue(t, da, list, 2, "draft")
	for _, id := range []int64{i1, i2} {
		if _, err := st.AddOnce(context.Background(), id, c.Now().Add(time.Minute), ""); err != nil {
			t.Fatal(err)
		}
	}
	sa, sb := newSender(t, da, c), newSender(t, db2, c)
	a := newScheduler(da, c, sa, "A")
	b := newScheduler(db2, c, sb, "B")
	c.Add(time.Minute)
	sa.interrupt = 1 // A "dies" in the middle of issue 1
	step(t, a)
	step(t, b)
	if sb.count() != 0 {
		t.Fatalf("standby B sent %v while A holds the lease", sb.calls)
	}
	if sa.count() != 2 || sa.completed[i2] != 1 || sa.completed[i1] != 0 {
		t.Fatalf("A: calls %v completed %v", sa.calls, sa.completed)
	}
	// A stops renewing. Before its lease runs out B still waits…
	c.Add(14 * time.Second)
	step(t, b)
	if sb.count() != 0 {
		t.Fatalf("B took over before the lease expired")
	}
	// …after, B takes over and resumes the interrupted issue.
	c.Add(2 * time.Second)
	step(t, b)
	if sb.completed[i1] != 1 || sb.count() != 1 {
		t.Fatalf("B after takeover: calls %v", sb.calls)
	}
	// A comes back: it is the standby now.
	step(t, a)
	if sa.count() != 2 {
		t.Fatalf("A sent again after losing the lease: %v", sa.calls)
	}
}

func TestSendPanicIsRecoveredAndRetried(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "UTC")
	iss := addIssue(t, d, list, 1, "draft")
	if _, err := st.AddOnce(context.Background(), iss, c.Now().Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	snd := newSender(t, d, c)
	snd.panics = 1
	s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Logger: quiet(), Retry: time.Minute})
	c.Add(time.Second)
	step(t, s) // panics inside; must not escape
	if got := issueStatus(t, d, iss); got != "sending" {
		t.Fatalf("status after panic = %q", got)
	}
	c.Add(59 * time.Second)
	if ids := step(t, s); len(ids) != 0 {
		t.Fatalf("retried before the retry delay: %v", ids)
	}
	c.Add(time.Second)
	step(t, s)
	if snd.completed[iss] != 1 {
		t.Fatalf("not resumed after the delay: %v", snd.calls)
	}
}

// TestRunLoop runs the real polling loop (clock fixed, short poll) until
// a due schedule is sent, then stops it and checks the lease is released.
func TestRunLoop(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "UTC")
	iss := addIssue(t, d, list, 1, "draft")
	snd := newSender(t, d, c)
	done := make(chan string, 1)
	s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Logger: quiet(), Poll: 10 * time.Millisecond,
		AfterSend: func(id int64, status string, err error) {
			select { // never block the worker: a second send is reported below
			case done <- status:
			default:
				t.Errorf("issue %d sent again (status %q)", id, status)
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- s.Run(ctx) }()
	// Added while the loop runs: picked up without a restart.
	if _, err := st.AddOnce(context.Background(), iss, c.Now().Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	select {
	case st := <-done:
		if st != "sent" {
			t.Errorf("status %q", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the loop did not send")
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return within 20 s of cancel")
	}
	var n int
	d.R.QueryRow(`SELECT count(*) FROM leases`).Scan(&n)
	if n != 0 {
		t.Errorf("lease not released at stop")
	}
}

func TestMetricsFromDeliveryLog(t *testing.T) {
	d := dbtest.MustOpenDB(t)
	list := addList(t, d, "news", "UTC")
	addList(t, d, "quiet", "UTC")
	iss := addIssue(t, d, list, 1, "sending")
	for i, st := range []string{"sent", "sent", "bounced", "failed", "pending", "sending", "skipped"} {
		res, err := d.W.Exec(`INSERT INTO subscribers (email, email_key, created_at) VALUES (?, ?, 0)`, fmt.Sprint(i, "@example.org"), fmt.Sprint(i, "@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := res.LastInsertId()
		var sentAt any
		if st == "sent" || st == "bounced" {
			sentAt = 1720000000 + i
		}
		if _, err := d.W.Exec(`INSERT INTO deliveries (issue_id, subscriber_id, state, created_at, updated_at, sent_at) VALUES (?, ?, ?, 0, 0, ?)`, iss, sub, st, sentAt); err != nil {
			t.Fatal(err)
		}
	}
	m := schedule.NewMetrics(d)
	got := map[string]float64{}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "tidings_") {
			continue
		}
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			switch {
			case mt.Counter != nil:
				got[key] = mt.GetCounter().GetValue()
			case mt.Gauge != nil:
				got[key] = mt.GetGauge().GetValue()
			}
		}
	}
	for k, want := range map[string]float64{
		"tidings_messages_sent_total{news}":                    3,
		"tidings_messages_failed_total{news}":                  1,
		"tidings_queue_depth{news}":                            2,
		"tidings_last_successful_send_timestamp_seconds{news}": 1720000002,
		"tidings_messages_sent_total{quiet}":                   0,
		"tidings_database_up":                                  1,
		"tidings_sender_leader":                                0,
		"tidings_schedule_missed_total":                        0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	if _, ok := got["tidings_last_successful_send_timestamp_seconds{quiet}"]; ok {
		t.Errorf("last send time reported for a list that never sent")
	}
}

// BenchmarkStep is one polling pass over 1 000 recurring schedules and
// 1 000 pending one-offs with nothing due: the daemon's steady cost per
// second.
func BenchmarkStep(b *testing.B) {
	d := dbtest.MustOpenDB(b)
	c := newClock(time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC))
	st := schedule.NewStore(d)
	st.Now = c.Now
	t := &testing.T{}
	list := addList(t, d, "news", "Asia/Shanghai")
	ctx := context.Background()
	for i := range 1000 {
		if _, err := st.AddCron(ctx, list, "0 8 * * 1", "Europe/Berlin"); err != nil {
			b.Fatal(err)
		}
		id := addIssue(t, d, list, i+1, "draft")
		if _, err := st.AddOnce(ctx, id, c.Now().Add(time.Hour), ""); err != nil {
			b.Fatal(err)
		}
	}
	s := schedule.New(schedule.Config{DB: d, Sender: newSender(t, d, c), Now: c.Now, Logger: quiet()})
	b.ResetTimer()
	for range b.N {
		if ids, err := s.Step(ctx); err != nil || len(ids) != 0 {
			b.Fatal(ids, err)
		}
	}
}

// BenchmarkCatchUpAfterAYear is the first pass after a year down with a
// schedule firing every minute: the jump over ticks older than twice the
// grace keeps it from walking half a million instants.
func BenchmarkCatchUpAfterAYear(b *testing.B) {
	d := dbtest.MustOpenDB(b)
	c := newClock(time.Date(2023, 7, 1, 8, 0, 0, 0, time.UTC))
	st := schedule.NewStore(d)
	st.Now = c.Now
	t := &testing.T{}
	list := addList(t, d, "news", "UTC")
	sc, err := st.AddCron(context.Background(), list, "* * * * *", "")
	if err != nil {
		b.Fatal(err)
	}
	c.Set(c.Now().AddDate(1, 0, 0))
	s := schedule.New(schedule.Config{DB: d, Sender: newSender(t, d, c), Now: c.Now, Logger: quiet()})
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := d.W.Exec(`UPDATE schedules SET last_run = ? WHERE id = ?`, c.Now().AddDate(-1, 0, 0).Unix(), sc.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Step(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
