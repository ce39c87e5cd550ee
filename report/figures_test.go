package report_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/report"
)

// start is when issue 1's send started in the fixture (on the hour + 20 min).
var start = time.Date(2026, 7, 1, 8, 20, 0, 0, time.UTC)

// fixture writes a delivery log, bounces, subscriptions and tracking
// counters into a real database exactly as the mailer, inbound and track
// packages store them, with every case the figures must get right.
//
// List keji: topics ageing(1) biomed(2) finance(3) space(4) quantum(5).
// Issue 1 (sent at start): articles 1 [ageing], 2 [biomed finance],
// 3 [finance], 4 [space]. Issue 2 sent at start+1000 s. Issue 3 a draft.
func fixture(t *testing.T) *db.DB {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	s := start.Unix()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.W.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (1, 'keji', '科技情报参考', 'n <n@example.org>', 0)`)
	exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (2, 'other', 'Other', 'n <n@example.org>', 0)`)
	for i, slug := range []string{"ageing", "biomed", "finance", "space", "quantum"} {
		exec(`INSERT INTO topics (id, list_id, slug, name, created_at) VALUES (?, 1, ?, ?, 0)`, i+1, slug, "T "+slug)
	}
	exec(`INSERT INTO issues (id, list_id, number, title, status, created_at, sent_at) VALUES (1, 1, 7, '科技情报参考 2024年第7期', 'sent', 0, ?)`, s+60)
	exec(`INSERT INTO issues (id, list_id, number, title, status, created_at, sent_at) VALUES (2, 1, 8, 'Issue eight', 'sent', 0, ?)`, s+1060)
	exec(`INSERT INTO issues (id, list_id, number, title, status, created_at) VALUES (3, 1, 9, 'Draft nine', 'draft', 0)`)
	exec(`INSERT INTO issues (id, list_id, number, title, status, created_at) VALUES (4, 2, 1, 'Other one', 'draft', 0)`)
	arts := []struct {
		pos    int
		title  string
		topics []int
	}{{1, "养老科技", []int{1}}, {2, "生物医药", []int{2, 3}}, {3, "成果转化", []int{3}}, {4, "航天锂电", []int{4}}}
	for _, a := range arts {
		exec(`INSERT INTO articles (id, issue_id, position, title, body) VALUES (?, 1, ?, ?, 'x')`, a.pos, a.pos, a.title)
		for _, tp := range a.topics {
			exec(`INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)`, a.pos, tp)
		}
		exec(`INSERT INTO articles (id, issue_id, position, title, body) VALUES (?, 3, ?, ?, 'x')`, 100+a.pos, a.pos, a.title)
	}
	exec(`INSERT INTO articles (id, issue_id, position, title, body) VALUES (200, 2, 1, 'Untagged', 'x')`)
	exec(`INSERT INTO sends (issue_id, state, started_at, finished_at) VALUES (1, 'done', ?, ?)`, s, s+60)
	exec(`INSERT INTO sends (issue_id, state, started_at, finished_at) VALUES (2, 'done', ?, ?)`, s+1000, s+1060)

	// Readers: id, topic key, delivery state of issue 1 ("" = no delivery),
	// subscription status and when it last changed (offset from start).
	readers := []struct {
		id     int
		key    string
		state  string
		status string
		at     int64
	}{
		{1, "all", "sent", "confirmed", -5000},
		{2, "ageing", "sent", "confirmed", -5000},
		{3, "biomed", "bounced", "bounced", 30},          // hard bounce by DSN after the relay took it
		{4, "finance,space", "sent", "confirmed", -5000}, // a soft bounce only
		{5, "quantum", "skipped", "confirmed", -5000},    // no article selected
		{6, "ageing,finance", "complained", "unsubscribed", 100},
		{7, "all", "failed", "confirmed", -5000},
		{8, "space", "sent", "unsubscribed", 10},      // left within the window
		{9, "space", "sent", "unsubscribed", -10},     // changed before the send started
		{10, "ageing", "sent", "unsubscribed", 1500},  // left after issue 2's send started
		{11, "", "", "unsubscribed", 20},              // no delivery of issue 1: not its recipient
		{12, "biomed", "skipped", "unsubscribed", 20}, // skipped: not a recipient
	}
	for _, r := range readers {
		exec(`INSERT INTO subscribers (id, email, email_key, created_at) VALUES (?, ?, ?, 0)`, r.id, "r"+itoa(r.id)+"@example.org", "r"+itoa(r.id)+"@example.org")
		exec(`INSERT INTO subscriptions (list_id, subscriber_id, status, created_at, updated_at) VALUES (1, ?, ?, 0, ?)`, r.id, r.status, s+r.at)
		if r.state != "" {
			exec(`INSERT INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?)`,
				r.id, r.state, r.key, s, s)
		}
	}
	exec(`INSERT INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at) VALUES (2, 10, 'sent', 'ageing', ?, ?)`, s+1000, s+1000)
	exec(`INSERT INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at) VALUES (2, 2, 'sent', 'none', ?, ?)`, s+1000, s+1000)
	for _, b := range []struct {
		sub  int
		kind string
	}{{3, "soft"}, {3, "hard"}, {3, "hard"}, {4, "soft"}, {4, "soft"}, {6, "complaint"}} {
		exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, at) VALUES (?, 1, 1, ?, ?)`, b.sub, b.kind, s+30)
	}
	exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, at) VALUES (2, 1, 2, 'hard', ?)`, s+1030) // another issue's

	// Tracking: links, topic bits (bit i = topic id i+1), counters.
	for _, l := range []struct {
		pos, link int
		url       string
	}{{1, 1, "https://example.org/ageing"}, {1, 2, "https://example.org/ageing-plan"}, {2, 1, "https://example.org/biomed"},
		{2, 2, "https://example.org/funds"}, {4, 1, "https://example.org/space"}} {
		exec(`INSERT INTO track_links (issue_id, position, link, url) VALUES (1, ?, ?, ?)`, l.pos, l.link, l.url)
	}
	for bit := 0; bit < 5; bit++ {
		exec(`INSERT INTO track_topics (issue_id, bit, topic_id) VALUES (1, ?, ?)`, bit, bit+1)
	}
	h0 := s / 3600 * 3600
	const all = 0b11111
	for _, c := range []struct {
		kind           string
		pos, link, set int
		verdict        string
		reason         string
		hour           int64
		n              int
	}{
		{"click", 1, 1, 0b00001, "human", "", 0, 3},              // ageing readers
		{"click", 1, 1, all, "human", "", 1, 1},                  // an all-topics reader, hour 1
		{"click", 1, 1, 0b00001, "machine", "user_agent", 0, 5},  // scanners
		{"click", 2, 1, 0b00010, "human", "", 5, 2},              // biomed readers, hour 5
		{"click", 2, 2, 0b01100, "machine", "head", 0, 1},        //
		{"click", 2, 2, 0b01100, "machine", "scan_window", 0, 2}, //
		{"click", 0, 0, 0b01100, "machine", "honeypot", 0, 2},    // the honeypot: no article
		{"click", 4, 1, 0b01000, "human", "", 50, 1},             // after 48 h: in totals, not the chart
		{"open", 0, 0, 0b00001, "human", "gmail_proxy", 2, 4},    //
		{"open", 0, 0, 0b00001, "machine", "apple_proxy", 0, 6},  //
	} {
		exec(`INSERT INTO track_counts (issue_id, kind, position, link, topic_set, verdict, reason, hour, n) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.kind, c.pos, c.link, c.set, c.verdict, c.reason, h0+c.hour*3600, c.n)
	}
	return d
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func mustReport(t *testing.T, d *db.DB, id int64) *report.Report {
	t.Helper()
	r, err := report.For(context.Background(), d, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeliveryFiguresCountReadersOnce(t *testing.T) {
	r := mustReport(t, fixture(t), 1)
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
	if r.List != "keji" || r.Number != 7 || r.Status != "sent" || !r.SentAt.Equal(start) {
		t.Errorf("header = %q #%d %s %v", r.List, r.Number, r.Status, r.SentAt)
	}
}

func TestUnsubscribedWindowEndsAtNextSend(t *testing.T) {
	r := mustReport(t, fixture(t), 2)
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
	r := mustReport(t, fixture(t), 1)
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
	r := mustReport(t, fixture(t), 1)
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
		{URL: "https://example.org/ageing", Position: 1, Index: 1, ClicksHuman: 4, ClicksMachine: 5},
		{URL: "https://example.org/ageing-plan", Position: 1, Index: 2},
		{URL: "https://example.org/biomed", Position: 2, Index: 1, ClicksHuman: 2},
		{URL: "https://example.org/funds", Position: 2, Index: 2, ClicksMachine: 3},
		{URL: "https://example.org/space", Position: 4, Index: 1, ClicksHuman: 1},
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
	r := mustReport(t, fixture(t), 1)
	if len(r.Timeline) != report.TimelineHours {
		t.Fatalf("timeline has %d points, want %d", len(r.Timeline), report.TimelineHours)
	}
	if want := start.Truncate(time.Hour); !r.Timeline[0].At.Equal(want) {
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
	d := fixture(t)
	if _, err := d.W.Exec(`UPDATE lists SET clicks = 'individual' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	at := start.Unix() + 600
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
	r := mustReport(t, fixture(t), 3)
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
	dbx := fixture(t)
	if _, err := dbx.W.Exec(`UPDATE lists SET clicks = 'off' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	r := mustReport(t, dbx, 1)
	if r.ClickRate() != -1 || r.ClicksTracking != "off" {
		t.Errorf("clicks off: rate %v mode %q, want -1 and off", r.ClickRate(), r.ClicksTracking)
	}
}

func TestUnknownIssueAndListAreNotFound(t *testing.T) {
	dbx := fixture(t)
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
