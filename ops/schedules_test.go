package ops

import (
	"errors"
	"testing"
	"time"
)

// TestScheduleInTheListsZone: a time without a zone is read in the list's
// zone (Asia/Shanghai), another zone when given; bad times and zones name
// their field and store nothing; the editor of another list sees none of
// it; removing puts the issue back.
func TestScheduleInTheListsZone(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range []struct {
		at, tz, field string
	}{
		{"tomorrow morning", "", "at"},
		{"", "", "at"},
		{"2026-12-07 08:00", "Mars/Olympus", "tz"},
		{"2026-12-01 08:00", "", "at"}, // past
	} {
		_, err := e.s.Schedule(e.ctx, e.editor, id, c.at, c.tz)
		bulletinField(t, err, c.field)
	}
	if n := e.one(t, `SELECT count(*) FROM schedules`); n != "0" {
		t.Fatalf("bad input stored %s schedules", n)
	}
	if _, err := e.s.Schedule(e.ctx, e.outer, id, "2026-12-07 08:00", ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	sc, err := e.s.Schedule(e.ctx, e.editor, id, "2026-12-07 08:00", "")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 7, 8, 0, 0, 0, shanghai); !sc.At.Equal(want) || sc.TZ != "Asia/Shanghai" {
		t.Errorf("scheduled at %s in %s, want %s in Asia/Shanghai", sc.At, sc.TZ, want)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "scheduled" {
		t.Errorf("issue status %s", got)
	}
	if _, err := e.s.Schedule(e.ctx, e.editor, id, "+1h", ""); !errors.Is(err, ErrConflict) {
		t.Errorf("second one-off: err = %v, want ErrConflict", err)
	}
	if _, err := e.s.UpdateArticle(e.ctx, e.editor, id, 1, ArticleChange{Title: ptr("新标题")}); err != nil {
		t.Errorf("a scheduled issue's articles may still change: %v", err)
	}
	mine, err := e.s.Schedules(e.ctx, e.editor, "")
	if err != nil || len(mine) != 1 || mine[0].ID != sc.ID {
		t.Errorf("editor's schedules = %v, %v", mine, err)
	}
	if theirs, err := e.s.Schedules(e.ctx, e.outer, ""); err != nil || len(theirs) != 0 {
		t.Errorf("another list's editor sees %v, %v", theirs, err)
	}
	if _, err := e.s.Schedules(e.ctx, e.outer, "keji"); !errors.Is(err, ErrForbidden) {
		t.Errorf("another list's editor asks for keji: %v", err)
	}
	if err := e.s.RemoveSchedule(e.ctx, e.outer, sc.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("another list's editor removes: %v", err)
	}
	if err := e.s.RemoveSchedule(e.ctx, e.editor, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown: %v", err)
	}
	if err := e.s.RemoveSchedule(e.ctx, e.editor, sc.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "draft" {
		t.Errorf("after remove: issue status %s, want draft", got)
	}

	// Another zone, RFC 3339 and +DURATION.
	utc, err := e.s.Schedule(e.ctx, e.editor, id, "2026-12-07 08:00", "UTC")
	if err != nil || !utc.At.Equal(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("in UTC: %v, %v", utc, err)
	}
	e.s.RemoveSchedule(e.ctx, e.editor, utc.ID)
	rel, err := e.s.Schedule(e.ctx, e.editor, id, "+90m", "")
	if err != nil || !rel.At.Equal(e.clock.Add(90*time.Minute)) {
		t.Errorf("+90m: %v, %v", rel, err)
	}
	acts := e.actions(t)
	if acts[len(acts)-1] != "schedule.add" || acts[len(acts)-2] != "schedule.rm" {
		t.Errorf("audit %v", acts)
	}
}

// TestAddRecurring: a cron schedule in the list's zone; bad expressions
// and zones name their field.
func TestAddRecurring(t *testing.T) {
	e := newBulletinEnv(t, nil)
	_, err := e.s.AddRecurring(e.ctx, e.editor, "keji", "every monday", "")
	bulletinField(t, err, "cron")
	_, err = e.s.AddRecurring(e.ctx, e.editor, "keji", "", "")
	bulletinField(t, err, "cron")
	_, err = e.s.AddRecurring(e.ctx, e.editor, "keji", "0 8 * * 1", "Nowhere/Zone")
	bulletinField(t, err, "tz")
	if _, err := e.s.AddRecurring(e.ctx, e.outer, "keji", "0 8 * * 1", ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: %v", err)
	}
	if _, err := e.s.AddRecurring(e.ctx, e.editor, "nosuch", "0 8 * * 1", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown list: %v", err)
	}
	sc, err := e.s.AddRecurring(e.ctx, e.editor, "keji", "0 8 * * 1", "")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-06 is a Sunday: next Monday 08:00 in Shanghai.
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	if sc.TZ != "Asia/Shanghai" || !sc.Next.Equal(time.Date(2026, 12, 7, 8, 0, 0, 0, shanghai)) {
		t.Errorf("recurring: tz %s next %s", sc.TZ, sc.Next)
	}
	if err := e.s.MarkReady(e.ctx, e.editor, e.issue.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, e.issue.ID); got != "ready" {
		t.Errorf("after MarkReady: %s", got)
	}
}

func ptr[T any](v T) *T { return &v }
