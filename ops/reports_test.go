package ops

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/report/reporttest"
)

// The report operations check the actor's role and lists before reading
// anything, map report's errors onto ops', and hand the same figures to
// every front end.
func TestReportOperations(t *testing.T) {
	s := New(Deps{DB: reporttest.Fixture(t)})
	ctx := context.Background()
	editorOf := func(lists ...int64) tidings.Actor {
		return tidings.Actor{Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, Lists: lists}
	}
	r, err := s.Report(ctx, editorOf(1), 1)
	if err != nil || r.Delivered != 7 || r.List != "keji" {
		t.Fatalf("editor of keji: %+v, %v", r, err)
	}
	for _, c := range []struct {
		name string
		a    tidings.Actor
		id   int64
		want error
	}{
		{"editor of another list", editorOf(2), 1, ErrForbidden},
		{"editor of no list", editorOf(), 1, ErrForbidden},
		{"no role", tidings.Actor{Kind: tidings.ActorToken, Name: "x", AllLists: true}, 1, ErrForbidden},
		{"unknown issue", CLI(), 99, ErrNotFound},
		{"unknown issue, limited editor", editorOf(2), 99, ErrNotFound},
	} {
		if _, err := s.Report(ctx, c.a, c.id); !errors.Is(err, c.want) {
			t.Errorf("Report: %s = %v, want %v", c.name, err, c.want)
		}
		var buf bytes.Buffer
		if err := s.ReportCSV(ctx, c.a, c.id, &buf); !errors.Is(err, c.want) || buf.Len() != 0 {
			t.Errorf("ReportCSV: %s = %v (%d bytes written), want %v and nothing", c.name, err, buf.Len(), c.want)
		}
	}
	if _, err := s.Report(ctx, CLI(), 99); err == nil || strings.Count(err.Error(), "not found") != 1 {
		t.Errorf("unknown issue error %q: want one 'not found'", err)
	}

	rs, err := s.Trend(ctx, editorOf(1), "keji", 10)
	if err != nil || len(rs) != 2 || rs[0].Issue != 2 {
		t.Errorf("Trend(keji) = %d reports, %v; want issues 2 and 1", len(rs), err)
	}
	if _, err := s.Trend(ctx, editorOf(2), "keji", 10); !errors.Is(err, ErrForbidden) {
		t.Errorf("Trend by another list's editor = %v, want ErrForbidden", err)
	}
	if _, err := s.Trend(ctx, CLI(), "nosuch", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trend(nosuch) = %v, want ErrNotFound", err)
	}
	for _, last := range []int{0, 101} {
		var fe *FieldError
		if _, err := s.Trend(ctx, CLI(), "keji", last); !errors.As(err, &fe) || fe.Field != "last" || !errors.Is(err, ErrInvalid) {
			t.Errorf("Trend(last=%d) = %v, want a FieldError on last", last, err)
		}
	}
	var buf bytes.Buffer
	if err := s.ReportCSV(ctx, editorOf(1), 1, &buf); err != nil || !strings.HasPrefix(buf.String(), "issue,section,item,label,metric,value\n") {
		t.Errorf("ReportCSV = %v:\n%s", err, buf.String())
	}
}

// The home page's click rate and unsubscribe count are the report's.
func TestHomeClickRateIsTheReports(t *testing.T) {
	s := New(Deps{DB: reporttest.Fixture(t)})
	ctx := context.Background()
	home, err := s.Home(ctx, CLI())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]float64{}
	unsubs := map[int64]int{}
	for _, l := range home {
		for _, ss := range l.LastSends {
			got[ss.IssueID] = ss.ClickRate
			unsubs[ss.IssueID] = ss.Unsubscribed
		}
	}
	sawUnsub := false
	for _, id := range []int64{1, 2} {
		r, err := s.Report(ctx, CLI(), id)
		if err != nil {
			t.Fatal(err)
		}
		if unsubs[id] != r.Unsubscribed {
			t.Errorf("home: %d unsubscribed after issue %d, the report says %d", unsubs[id], id, r.Unsubscribed)
		}
		sawUnsub = sawUnsub || r.Unsubscribed > 0
	}
	if !sawUnsub {
		t.Error("the fixture has no unsubscribe after an issue: the comparison proves nothing")
	}
	for _, id := range []int64{1, 2} {
		r, err := s.Report(ctx, CLI(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got[id] != r.ClickRate() {
			t.Errorf("home click rate of issue %d = %v, report says %v", id, got[id], r.ClickRate())
		}
	}
	if got[1] != 1 {
		t.Errorf("issue 1 click rate = %v, want 1 (7 human clicks, 7 delivered)", got[1])
	}
}
