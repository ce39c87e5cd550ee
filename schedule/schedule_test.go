package schedule_test

import (
	"context"
	"errors"
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

func TestParseCron(t *testing.T) {
	utc := time.UTC
	for _, tc := range []struct {
		spec string
		want string // "" = valid; else a piece of the error
	}{
		{"0 8 * * 1", ""},
		{"  30   7 * * MON-FRI ", ""},
		{"@daily", ""},
		{"", "empty"},
		{"61 * * * *", "61"},
		{"* * * *", "expected exactly 5 fields"},
		{"0 0 8 * * 1", "expected exactly 5 fields"},
		{"CRON_TZ=UTC", "--tz"},
		{"CRON_TZ=Asia/Shanghai 0 8 * * 1", "--tz"},
		{"TZ=UTC 0 8 * * 1", "--tz"},
		{"0 0 30 2 *", "never matches"},
		{"every monday", "cron expression"},
	} {
		_, err := schedule.ParseCron(tc.spec, utc)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ParseCron(%q): %v", tc.spec, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, schedule.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseCron(%q) = %v, want ErrInvalid mentioning %q", tc.spec, err, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	now := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2024-07-02 08:00", want: time.Date(2024, 7, 2, 0, 0, 0, 0, time.UTC)},
		{in: "2024-07-02 08:00:30", want: time.Date(2024, 7, 2, 0, 0, 30, 0, time.UTC)},
		{in: "2024-07-02T09:00:00+02:00", want: time.Date(2024, 7, 2, 7, 0, 0, 0, time.UTC)},
		{in: "+90s", want: now.Add(90 * time.Second)},
		{in: "+2h", want: now.Add(2 * time.Hour)},
		{in: "+-2h", bad: true},
		{in: "+soon", bad: true},
		{in: "tomorrow", bad: true},
		{in: "2024-13-01 08:00", bad: true},
	} {
		got, err := schedule.ParseTime(tc.in, sh, now)
		if tc.bad {
			if !errors.Is(err, schedule.ErrInvalid) || !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseTime(%q) = %v, %v; want an ErrInvalid naming the input", tc.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if _, err := schedule.LoadZone("Mars/Olympus_Mons"); !errors.Is(err, schedule.ErrInvalid) || !strings.Contains(err.Error(), "Mars/Olympus_Mons") {
		t.Errorf("LoadZone(unknown) = %v", err)
	}
}

func TestStoreAddOnceValidation(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "Asia/Shanghai")
	draft := addIssue(t, d, list, 1, "draft")
	ready := addIssue(t, d, list, 2, "ready")
	sent := addIssue(t, d, list, 3, "sent")
	sending := addIssue(t, d, list, 4, "sending")
	future := c.Now().Add(time.Hour)

	for _, tc := range []struct {
		name  string
		issue int64
		at    time.Time
		tz    string
		kind  error
		text  string
	}{
		{"past", draft, c.Now().Add(-time.Minute), "", schedule.ErrPast, "in the past"},
		{"now", draft, c.Now(), "", schedule.ErrPast, "in the past"},
		{"sent", sent, future, "", schedule.ErrState, "already sent"},
		{"sending", sending, future, "", schedule.ErrState, "being sent"},
		{"unknown zone", draft, future, "Nowhere/City", schedule.ErrInvalid, "Nowhere/City"},
		{"unknown issue", 999, future, "", schedule.ErrNotFound, "issue 999"},
	} {
		_, err := st.AddOnce(context.Background(), tc.issue, tc.at, tc.tz)
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: AddOnce = %v, want %v containing %q", tc.name, err, tc.kind, tc.text)
		}
	}
	if n := len(mustList(t, st)); n != 0 {
		t.Fatalf("refused adds left %d schedules", n)
	}

	// Accepted: the issue becomes scheduled, the zone defaults to the list's.
	sc, err := st.AddOnce(context.Background(), ready, future, "")
	if err != nil {
		t.Fatal(err)
	}
	if sc.TZ != "Asia/Shanghai" || !sc.Next.Equal(future) || sc.Next.Location().String() != "Asia/Shanghai" {
		t.Errorf("schedule = %+v", sc)
	}
	if got := issueStatus(t, d, ready); got != "scheduled" {
		t.Errorf("status after add = %q", got)
	}
	if _, err := st.AddOnce(context.Background(), ready, future, ""); !errors.Is(err, schedule.ErrState) || !strings.Contains(err.Error(), "already scheduled") {
		t.Errorf("second AddOnce = %v", err)
	}
	// Removal gives back the earlier status: ready stays ready, draft stays draft.
	sc2, err := st.AddOnce(context.Background(), draft, future, "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sched, issue int64
		want         string
	}{{sc.ID, ready, "ready"}, {sc2.ID, draft, "draft"}} {
		if err := st.Remove(context.Background(), tc.sched); err != nil {
			t.Fatal(err)
		}
		if got := issueStatus(t, d, tc.issue); got != tc.want {
			t.Errorf("status after rm = %q, want %q", got, tc.want)
		}
	}
	if err := st.Remove(context.Background(), 12345); !errors.Is(err, schedule.ErrNotFound) {
		t.Errorf("Remove(unknown) = %v", err)
	}
}

func TestStoreAddCronValidation(t *testing.T) {
	_, _, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "Europe/Berlin")
	for _, tc := range []struct{ spec, tz, text string }{
		{"0 25 * * *", "", "0 25 * * *"},
		{"CRON_TZ=UTC", "", "--tz"},
		{"0 8 * * 1", "Europe/Atlantis", "Europe/Atlantis"},
	} {
		if _, err := st.AddCron(context.Background(), list, tc.spec, tc.tz); !errors.Is(err, schedule.ErrInvalid) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("AddCron(%q, %q) = %v", tc.spec, tc.tz, err)
		}
	}
	sc, err := st.AddCron(context.Background(), list, "0 8 * * 1", "")
	if err != nil {
		t.Fatal(err)
	}
	// 2024-07-01 is a Monday, 08:00 UTC = 10:00 in Berlin: next is the 8th.
	want := time.Date(2024, 7, 8, 8, 0, 0, 0, mustLoc(t, "Europe/Berlin"))
	if sc.TZ != "Europe/Berlin" || !sc.Next.Equal(want) || sc.Next.Location().String() != "Europe/Berlin" {
		t.Errorf("next = %v (%s), want %v", sc.Next, sc.TZ, want)
	}
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

// ticks drives a recurring schedule with steps of step from..to and
// returns the instants it handled (last_run values), in the zone.
func ticks(t *testing.T, zone, spec string, from, to time.Time, stepBy time.Duration) []string {
	t.Helper()
	d, c, st, list := fixture(t, from, zone)
	sc, err := st.AddCron(context.Background(), list, spec, "")
	if err != nil {
		t.Fatal(err)
	}
	s := newScheduler(d, c, newSender(t, d, c), "a")
	var out []string
	var last time.Time
	for c.Now().Before(to) {
		step(t, s)
		got, err := st.Get(context.Background(), sc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastRun.Equal(last) {
			last = got.LastRun
			out = append(out, last.Format("2006-01-02 15:04 MST"))
		}
		c.Add(stepBy)
	}
	return out
}

func TestCronAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	for _, tc := range []struct {
		name       string
		zone, spec string
		from, to   time.Time
		want       []string
	}{
		{
			// Spring forward 2024-03-10: 08:00 stays 08:00 local, one hour less in UTC.
			name: "new york 08:00 spring", zone: "America/New_York", spec: "0 8 * * *",
			from: time.Date(2024, 3, 9, 0, 0, 0, 0, ny), to: time.Date(2024, 3, 12, 0, 0, 0, 0, ny),
			want: []string{"2024-03-09 08:00 EST", "2024-03-10 08:00 EDT", "2024-03-11 08:00 EDT"},
		},
		{
			// 02:30 does not exist on 2024-03-31 in Berlin: skipped that day.
			name: "berlin 02:30 in the gap", zone: "Europe/Berlin", spec: "30 2 * * *",
			from: time.Date(2024, 3, 30, 0, 0, 0, 0, berlin), to: time.Date(2024, 4, 2, 0, 0, 0, 0, berlin),
			want: []string{"2024-03-30 02:30 CET", "2024-04-01 02:30 CEST"},
		},
		{
			// 02:30 happens twice on 2024-10-27 in Berlin: it runs once.
			name: "berlin 02:30 repeated", zone: "Europe/Berlin", spec: "30 2 * * *",
			from: time.Date(2024, 10, 26, 0, 0, 0, 0, berlin), to: time.Date(2024, 10, 29, 0, 0, 0, 0, berlin),
			want: []string{"2024-10-26 02:30 CEST", "2024-10-27 02:30 CEST", "2024-10-28 02:30 CET"},
		},
		{
			// Every half hour through New York's fall-back night: no wall-clock time twice.
			name: "new york half-hourly fall back", zone: "America/New_York", spec: "*/30 0-3 * * *",
			from: time.Date(2024, 11, 3, 0, 0, 0, 0, ny), to: time.Date(2024, 11, 3, 5, 0, 0, 0, ny),
			want: []string{"2024-11-03 00:30 EDT", "2024-11-03 01:00 EDT", "2024-11-03 01:30 EDT",
				"2024-11-03 02:00 EST", "2024-11-03 02:30 EST", "2024-11-03 03:00 EST", "2024-11-03 03:30 EST"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ticks(t, tc.zone, tc.spec, tc.from, tc.to, 10*time.Minute)
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("ticks:\n got %v\nwant %v", got, tc.want)
			}
		})
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
