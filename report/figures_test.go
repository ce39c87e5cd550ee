package report_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/report"
	"github.com/tidings/tidings/report/reporttest"
)

func mustReport(t *testing.T, d *db.DB, id int64) *report.Report {
	t.Helper()
	r, err := report.For(context.Background(), d, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeliveryFiguresCountReadersOnce(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 1)
	for _, f := range []struct {
		name      string
		got, want int
	}{
		{"recipients (all but the skipped)", r.Recipients, 9},
		{"delivered (sent or complained)", r.Delivered, 7},
		{"bounced_hard (reader 3 once, despite two DSNs)", r.BouncedHard, 1},
		{"bounced_soft (reader 4 once; reader 3 counts hard)", r.BouncedSoft, 1},
		{"bounced", r.Bounced, 2},
		{"complaints", r.Complaints, 1},
		{"unsubscribed (readers 6 and 8)", r.Unsubscribed, 2},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.name, f.got, f.want)
		}
	}
	if r.List != "keji" || r.Number != 7 || r.Status != "sent" || !r.SentAt.Equal(reporttest.Start) {
		t.Errorf("header = %q #%d %s %v", r.List, r.Number, r.Status, r.SentAt)
	}
}

func TestUnsubscribedWindowEndsAtNextSend(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 2)
	// Reader 10 left 1500 s after issue 1's send, i.e. after issue 2's
	// started; issue 2 is the latest send, so its window has no end.
	if r.Unsubscribed != 1 {
		t.Errorf("issue 2 unsubscribed = %d, want 1 (reader 10)", r.Unsubscribed)
	}
	if r.BouncedHard != 1 || r.Recipients != 2 {
		t.Errorf("issue 2: bounced_hard %d recipients %d, want 1 and 2", r.BouncedHard, r.Recipients)
	}
	// The untagged article reaches every recipient, "none" readers too.
	if len(r.Articles) != 1 || r.Articles[0].Recipients != 2 {
		t.Errorf("issue 2 articles = %+v, want the untagged one with 2 recipients", r.Articles)
	}
}

func TestReachPerArticleAndTopicFromCombinations(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 1)
	var got []int
	for _, a := range r.Articles {
		got = append(got, a.Recipients)
	}
	if want := []int{5, 5, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("article recipients = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.Articles[1].Topics, []string{"biomed", "finance"}) {
		t.Errorf("article 2 topics = %v", r.Articles[1].Topics)
	}
	topics := map[string]int{}
	for _, tp := range r.Topics {
		topics[tp.Slug] = tp.Recipients
	}
	want := map[string]int{"ageing": 5, "biomed": 3, "finance": 4, "space": 5, "quantum": 2}
	if !reflect.DeepEqual(topics, want) {
		t.Errorf("topic recipients = %v, want %v", topics, want)
	}
}

func TestEngagementFromCounters(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 1)
	if want := (report.Counts{Total: 17, Human: 7, Machine: 10}); r.Clicks != want {
		t.Errorf("clicks = %+v, want %+v", r.Clicks, want)
	}
	if want := (report.Counts{Total: 10, Human: 4, Machine: 6}); r.Opens != want {
		t.Errorf("opens = %+v, want %+v", r.Opens, want)
	}
	wantReasons := map[string]int{"user_agent": 5, "head": 1, "scan_window": 2, "honeypot": 2, "apple_proxy": 6}
	if !reflect.DeepEqual(r.MachineReasons, wantReasons) {
		t.Errorf("machine reasons = %v, want %v", r.MachineReasons, wantReasons)
	}
	if got := r.SortedReasons(); got[0] != "apple_proxy" || got[1] != "user_agent" {
		t.Errorf("sorted reasons = %v, want most events first", got)
	}
	var arts [][2]int
	for _, a := range r.Articles {
		arts = append(arts, [2]int{a.ClicksHuman, a.ClicksMachine})
	}
	if want := [][2]int{{4, 5}, {2, 3}, {0, 0}, {1, 0}}; !reflect.DeepEqual(arts, want) {
		t.Errorf("article clicks (human, machine) = %v, want %v", arts, want)
	}
	var links []report.Link
	links = append(links, r.Links...)
	wantLinks := []report.Link{
		{URL: "https://example.org/ageing", Position: 1, Index: 1, Recipients: 5, ClicksHuman: 4, ClicksMachine: 5},
		{URL: "https://example.org/ageing-plan", Position: 1, Index: 2, Recipients: 5},
		{URL: "https://example.org/biomed", Position: 2, Index: 1, Recipients: 5, ClicksHuman: 2},
		{URL: "https://example.org/funds", Position: 2, Index: 2, Recipients: 5, ClicksMachine: 3},
		{URL: "https://example.org/space", Position: 4, Index: 1, Recipients: 5, ClicksHuman: 1},
	}
	// a link reaches the readers of its article
	for _, l := range links {
		for _, a := range r.Articles {
			if a.Position == l.Position && a.Recipients != l.Recipients {
				t.Errorf("link %d.%d: recipients %d, its article's %d", l.Position, l.Index, l.Recipients, a.Recipients)
			}
		}
	}
	if !reflect.DeepEqual(links, wantLinks) {
		t.Errorf("links =\n%+v\nwant\n%+v", links, wantLinks)
	}
	type tc struct{ clicks, readers int }
	topics := map[string]tc{}
	for _, tp := range r.Topics {
		topics[tp.Slug] = tc{tp.ClicksHuman, tp.ReaderClicksHuman}
	}
	// On articles: ageing art 1 (4); biomed art 2 (2); finance arts 2+3 (2);
	// space art 4 (1). By readers (bit i is topic id i+1): ageing×3,
	// every topic×1, biomed×2, space×1.
	wantTopics := map[string]tc{"ageing": {4, 4}, "biomed": {2, 3}, "finance": {2, 1}, "space": {1, 2}, "quantum": {0, 1}}
	if !reflect.DeepEqual(topics, wantTopics) {
		t.Errorf("topics (on articles, by readers) = %v, want %v", topics, wantTopics)
	}
	if r.UniqueClickers != nil {
		t.Errorf("unique clickers = %d in aggregate mode, want null", *r.UniqueClickers)
	}
	if got, want := r.ClickRate(), 7.0/7.0; got != want {
		t.Errorf("click rate = %v, want %v (human clicks per delivered)", got, want)
	}
}

func TestTimelineIsFirst48HoursFromTheSendHour(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 1)
	if len(r.Timeline) != report.TimelineHours {
		t.Fatalf("timeline has %d points, want %d", len(r.Timeline), report.TimelineHours)
	}
	if want := reporttest.Start.Truncate(time.Hour); !r.Timeline[0].At.Equal(want) {
		t.Errorf("first point at %v, want %v", r.Timeline[0].At, want)
	}
	sum := 0
	for _, p := range r.Timeline {
		sum += p.Human
	}
	if r.Timeline[0].Human != 3 || r.Timeline[1].Human != 1 || r.Timeline[5].Human != 2 || sum != 6 {
		t.Errorf("timeline = %+v; want 3 at h0, 1 at h1, 2 at h5, nothing after 48 h", r.Timeline[:6])
	}
}

func TestUniqueClickersInIndividualMode(t *testing.T) {
	d := reporttest.Fixture(t)
	if _, err := d.W.Exec(`UPDATE lists SET clicks = 'individual' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	at := reporttest.Start.Unix() + 600
	for _, e := range []struct {
		sub     int
		verdict string
	}{{1, "human"}, {1, "human"}, {2, "human"}, {4, "machine"}} {
		if _, err := d.W.Exec(`INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at)
			VALUES (?, 1, 'click', 1, 1, ?, '', ?)`, e.sub, e.verdict, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.W.Exec(`INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at)
		VALUES (6, 1, 'open', 0, 0, 'human', '', ?)`, at); err != nil {
		t.Fatal(err)
	}
	r := mustReport(t, d, 1)
	if r.UniqueClickers == nil || *r.UniqueClickers != 2 {
		t.Fatalf("unique clickers = %v, want 2 (readers 1 and 2; machine clicks and opens do not count)", r.UniqueClickers)
	}
	if got, want := r.ClickRate(), 2.0/7.0; got != want {
		t.Errorf("click rate = %v, want %v (unique clickers per delivered)", got, want)
	}
	// Erasing a reader drops the person, keeps the figures.
	if _, err := d.W.Exec(`DELETE FROM subscribers WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	r = mustReport(t, d, 1)
	if *r.UniqueClickers != 1 || r.Clicks.Human != 7 {
		t.Errorf("after erasure: unique %d clicks.human %d, want 1 and 7", *r.UniqueClickers, r.Clicks.Human)
	}
}

func TestUnsentIssueIsZerosNotAnError(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 3)
	if r.Recipients != 0 || r.Delivered != 0 || r.Unsubscribed != 0 || r.Clicks.Total != 0 || !r.SentAt.IsZero() {
		t.Errorf("unsent issue = %+v, want zeros", r)
	}
	if len(r.Articles) != 4 || r.Articles[0].Recipients != 0 || len(r.Timeline) != 0 || r.Links == nil || r.MachineReasons == nil {
		t.Errorf("unsent issue: articles %v timeline %v links %v reasons %v", r.Articles, r.Timeline, r.Links, r.MachineReasons)
	}
	if r.ClickRate() != 0 {
		t.Errorf("click rate of an unsent issue = %v, want 0", r.ClickRate())
	}
}

func TestClicksOffRateIsMinusOne(t *testing.T) {
	dbx := reporttest.Fixture(t)
	if _, err := dbx.W.Exec(`UPDATE lists SET clicks = 'off' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	r := mustReport(t, dbx, 1)
	if r.ClickRate() != -1 || r.ClicksTracking != "off" {
		t.Errorf("clicks off: rate %v mode %q, want -1 and off", r.ClickRate(), r.ClicksTracking)
	}
}

func TestUnknownIssueAndListAreNotFound(t *testing.T) {
	dbx := reporttest.Fixture(t)
	ctx := context.Background()
	if _, err := report.For(ctx, dbx, 99); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("For(99) = %v, want ErrNotFound", err)
	}
	if _, err := report.IssueList(ctx, dbx, 99); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("IssueList(99) = %v, want ErrNotFound", err)
	}
	if _, err := report.ListID(ctx, dbx, "nope"); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("ListID(nope) = %v, want ErrNotFound", err)
	}
	if id, err := report.IssueList(ctx, dbx, 4); err != nil || id != 2 {
		t.Errorf("IssueList(4) = %d, %v; want 2", id, err)
	}
}

func TestClickRateAgreesWithTheReport(t *testing.T) {
	d := reporttest.Fixture(t)
	ctx := context.Background()
	for _, mode := range []string{"aggregate", "individual", "off"} {
		if _, err := d.W.Exec(`UPDATE lists SET clicks = ? WHERE id = 1`, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := d.W.Exec(`INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at)
			VALUES (2, 1, 'click', 1, 1, 'human', '', 0)`); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{1, 2, 3} {
			got, err := report.ClickRate(ctx, d, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustReport(t, d, id).ClickRate(); got != want {
				t.Errorf("%s: ClickRate(%d) = %v, report says %v", mode, id, got, want)
			}
		}
	}
	if _, err := report.ClickRate(ctx, d, 99); !errors.Is(err, report.ErrNotFound) {
		t.Errorf("ClickRate(99) = %v, want ErrNotFound", err)
	}
}
