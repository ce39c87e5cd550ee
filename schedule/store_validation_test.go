package schedule_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/schedule"
)

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
