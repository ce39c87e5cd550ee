package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/schedule"
)

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
