package ops

import (
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
)

// TestHomeShowsTheActorsLists: per list the actor may see, subscriber
// counts by status, the next schedules soonest first, and the last sends
// with delivered, bounced and unsubscribed-after figures.
func TestHomeShowsTheActorsLists(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	if _, err := e.s.AddRecurring(e.ctx, e.editor, "keji", "0 8 * * 1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if ids, err := e.scheduler(e.engine(t, sink)).Step(e.ctx); err != nil || len(ids) != 1 {
		t.Fatalf("send: %v %v", ids, err)
	}
	// A reader leaves after the issue; a hard bounce comes back for another.
	e.clock = e.clock.Add(time.Hour)
	st := subscribers.NewStore(e.d)
	p, err := st.Get(e.ctx, "finance@example.cn")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Unsubscribe(e.ctx, e.keji.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	q, _ := st.Get(e.ctx, "biomed@example.cn")
	if _, err := e.d.W.Exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, at) VALUES (?, ?, ?, 'hard', ?)`,
		q.ID, e.keji.ID, id, e.clock.Unix()); err != nil {
		t.Fatal(err)
	}
	// A second issue scheduled.
	src := []byte("---\ntitle: 第8期\nnumber: 8\n---\n\n## 新闻 {topics=ageing}\n\n养老。\n")
	is2, err := e.s.ImportIssue(e.ctx, e.editor, "keji", "8.md", src, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Schedule(e.ctx, e.editor, is2.ID, "2026-12-06 20:00", ""); err != nil {
		t.Fatal(err)
	}

	home, err := e.s.Home(e.ctx, e.editor)
	if err != nil {
		t.Fatal(err)
	}
	if len(home) != 1 || home[0].List.Slug != "keji" {
		t.Fatalf("editor of keji sees %d lists", len(home))
	}
	h := home[0]
	want := map[tidings.Status]int{"confirmed": 8, "pending": 1, "unsubscribed": 2, "bounced": 0, "blocked": 0}
	for st, n := range want {
		if h.Counts[st] != n {
			t.Errorf("%s: %d, want %d (%v)", st, h.Counts[st], n, h.Counts)
		}
	}
	if len(h.Next) != 2 || h.Next[0].IssueID != is2.ID || h.Next[1].Cron == "" {
		t.Errorf("next schedules %+v: want the one-off tonight, then Monday's cron", h.Next)
	}
	if len(h.LastSends) != 1 {
		t.Fatalf("last sends %+v", h.LastSends)
	}
	ls := h.LastSends[0]
	if ls.IssueID != id || ls.State != "done" || ls.Counts.Sent != 9 || ls.Bounced != 1 || ls.Unsubscribed != 1 {
		t.Errorf("last send %+v", ls)
	}
	all, err := e.s.Home(e.ctx, e.admin)
	if err != nil || len(all) != 2 {
		t.Errorf("admin sees %d lists (%v)", len(all), err)
	}
	if _, err := e.s.Home(e.ctx, tidings.Actor{Kind: tidings.ActorToken, Name: "x"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("no role: %v", err)
	}
}
