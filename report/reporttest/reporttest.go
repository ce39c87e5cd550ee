// Package reporttest writes, for tests, a database holding every case an
// issue report must get right: a delivery log with each state, bounces,
// complaints, unsubscribes inside and outside the window, and tracking
// counters as package track stores them.
package reporttest

import (
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
)

// Start is when issue 1's send started in the fixture (on the hour + 20 min).
var Start = time.Date(2026, 7, 1, 8, 20, 0, 0, time.UTC)

// Fixture writes a delivery log, bounces, subscriptions and tracking
// counters into a real database exactly as the mailer, inbound and track
// packages store them, with every case the figures must get right.
//
// List keji: topics ageing(1) biomed(2) finance(3) space(4) quantum(5).
// Issue 1 (sent at start): articles 1 [ageing], 2 [biomed finance],
// 3 [finance], 4 [space]. Issue 2 sent at start+1000 s. Issue 3 a draft.
func Fixture(t testing.TB) *db.DB {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	s := Start.Unix()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.W.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (1, 'keji', '科技情报参考', 'n <n@example.org>', 0)`)
	exec(`UPDATE lists SET opens = 'aggregate' WHERE id = 1`)
	exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (2, 'other', 'Other', 'n <n@example.org>', 0)`)
	for i, tp := range [][2]string{{"ageing", "养老"}, {"biomed", "生物医药"}, {"finance", "科技金融"}, {"space", "航天"}, {"quantum", "量子"}} {
		exec(`INSERT INTO topics (id, list_id, slug, name, created_at) VALUES (?, 1, ?, ?, 0)`, i+1, tp[0], tp[1])
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
