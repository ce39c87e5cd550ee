package mailer

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/smtpsink"
)

// fixture is a real database with one list (topics ai, space, bio), an
// issue whose articles are tagged ai and space, and subscribers whose
// topic sets cycle through all, ai, space, bio (bio gets nothing).
type fixture struct {
	d       *db.DB
	listID  int64
	issueID int64
	subs    []tidings.Recipient
}

var topicCycle = [][]string{nil, {"ai"}, {"space"}, {"bio"}}

func newFixture(t testing.TB, n int) *fixture {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	return seed(t, d, n)
}

func seed(t testing.TB, d *db.DB, n int) *fixture {
	t.Helper()
	f := &fixture{d: d}
	ctx := context.Background()
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO lists (slug, name, from_addr, lang, created_at) VALUES ('keji', '科技情报', '科技情报 <news@example.org>', 'zh', 1)`)
		if err != nil {
			return err
		}
		f.listID, _ = res.LastInsertId()
		topics := map[string]int64{}
		for _, s := range []string{"ai", "space", "bio"} {
			res, err := tx.Exec(`INSERT INTO topics (list_id, slug, name, created_at) VALUES (?, ?, ?, 1)`, f.listID, s, s)
			if err != nil {
				return err
			}
			topics[s], _ = res.LastInsertId()
		}
		res, err = tx.Exec(`INSERT INTO issues (list_id, number, title, status, created_at) VALUES (?, 7, '第七期', 'draft', 1)`, f.listID)
		if err != nil {
			return err
		}
		f.issueID, _ = res.LastInsertId()
		for i, s := range []string{"ai", "space"} {
			res, err := tx.Exec(`INSERT INTO articles (issue_id, position, title, body) VALUES (?, ?, ?, 'body')`, f.issueID, i+1, "Article "+s)
			if err != nil {
				return err
			}
			aid, _ := res.LastInsertId()
			if _, err := tx.Exec(`INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)`, aid, topics[s]); err != nil {
				return err
			}
		}
		for i := 0; i < n; i++ {
			email := fmt.Sprintf("reader%04d@example.com", i)
			res, err := tx.Exec(`INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, 1)`, email, email, fmt.Sprintf("Reader %d", i))
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			tops := topicCycle[i%len(topicCycle)]
			all := 0
			if tops == nil {
				all = 1
			}
			if _, err := tx.Exec(`INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at) VALUES (?, ?, 'confirmed', ?, 1, 1)`, f.listID, id, all); err != nil {
				return err
			}
			for _, s := range tops {
				if _, err := tx.Exec(`INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)`, f.listID, id, topics[s]); err != nil {
					return err
				}
			}
			f.subs = append(f.subs, tidings.Recipient{SubscriberID: id, Email: email, AllTopics: all == 1, Topics: tops})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// deliverable are the addresses that should get the issue.
func (f *fixture) deliverable() []string {
	var out []string
	for _, rc := range f.subs {
		if _, n := (testComposer{}).Combination(rc); n > 0 {
			out = append(out, rc.Email)
		}
	}
	return out
}

// Campaign and Recipients: the fixture is its own source, reading the
// real tables the way the subscribers store does.
func (f *fixture) Campaign(ctx context.Context, issueID int64) (*Campaign, error) {
	return &Campaign{IssueID: issueID, ListID: f.listID, List: "keji", Domain: "example.org", Composer: testComposer{}}, nil
}

func (f *fixture) Recipients(ctx context.Context, listID int64, fn func(tidings.Recipient) error) error {
	rows, err := f.d.R.QueryContext(ctx, `SELECT p.id, p.email, p.name, sub.all_topics,
		coalesce((SELECT group_concat(t.slug, ',' ORDER BY t.slug) FROM subscription_topics st JOIN topics t ON t.id = st.topic_id
		WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '')
		FROM subscriptions sub JOIN subscribers p ON p.id = sub.subscriber_id
		WHERE sub.list_id = ? AND sub.status = 'confirmed' ORDER BY sub.subscriber_id`, listID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rc tidings.Recipient
		var topics string
		if err := rows.Scan(&rc.SubscriberID, &rc.Email, &rc.Name, &rc.AllTopics, &topics); err != nil {
			return err
		}
		if topics != "" {
			rc.Topics = strings.Split(topics, ",")
		}
		if err := fn(rc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// testComposer writes a small valid message holding the articles of the
// recipient's topics (ai, space in the fixture issue). The end-to-end
// tests use the real renderer instead.
type testComposer struct{}

func (testComposer) Combination(rc tidings.Recipient) (string, int) {
	if rc.AllTopics {
		return "all", 2
	}
	var keep []string
	for _, t := range rc.Topics {
		if t == "ai" || t == "space" {
			keep = append(keep, t)
		}
	}
	slices.Sort(keep)
	return strings.Join(keep, "+"), len(keep)
}

func (c testComposer) Compose(w io.Writer, rc tidings.Recipient, o ComposeOptions) (string, error) {
	to := rc.Email
	if o.To != "" {
		to = o.To
	}
	subj := "第七期"
	if o.Test {
		subj = "[TEST] " + subj
	}
	id := fmt.Sprintf("<7.%d@example.org>", rc.SubscriberID)
	key, _ := c.Combination(rc)
	var b strings.Builder
	b.WriteString("From: news@example.org\r\nTo: " + to + "\r\nSubject: " + subj + "\r\n")
	b.WriteString("Date: Mon, 01 Jul 2024 08:00:00 +0800\r\nMessage-ID: " + id + "\r\n")
	b.WriteString("List-Id: <keji.example.org>\r\n")
	if !o.Test {
		b.WriteString("List-Unsubscribe: <https://example.org/keji/unsubscribe/x>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("topics: " + key + "\r\n")
	for i := 0; i < 20; i++ {
		b.WriteString("Some article text for the body of the message.\r\n")
	}
	_, err := io.WriteString(w, b.String())
	return id, err
}

func (testComposer) ReturnPath(rc tidings.Recipient) string {
	return tidings.BounceAddress(fmt.Sprintf("tok%d", rc.SubscriberID), "example.org")
}

// startSink runs a sink for the test's lifetime.
func startSink(t testing.TB, o smtpsink.Options) *smtpsink.Server {
	t.Helper()
	s, err := smtpsink.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sinkRelay(t testing.TB, s *smtpsink.Server) Relay {
	t.Helper()
	r, err := ParseRelayURL("smtp://" + s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fastConfig keeps retries and polling in milliseconds, so failure paths
// run quickly; nothing asserts on timing.
func fastConfig(relays ...Relay) Config {
	return Config{
		Relays:          relays,
		Concurrency:     2,
		Backoff:         time.Millisecond,
		MaxBackoff:      5 * time.Millisecond,
		MaxAttempts:     3,
		Cooldown:        time.Minute,
		BreakerFailures: 2,
		Poll:            10 * time.Millisecond,
		LeaseTTL:        5 * time.Second,
		Timeouts:        Timeouts{Dial: 2 * time.Second, Command: 2 * time.Second, Data: 5 * time.Second},
		Logger:          testLogger(),
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("TIDINGS_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func (f *fixture) engine(cfg Config) *Engine {
	return New(cfg, Deps{DB: f.d, Campaigns: f, Recipients: f})
}

// delivery is one row of the log.
type delivery struct {
	State, FailKind, Reply, LastError, Relay string
	Attempts                                 int
}

func (f *fixture) log(t testing.TB) map[string]delivery {
	t.Helper()
	rows, err := f.d.R.Query(`SELECT p.email, d.state, d.fail_kind, d.smtp_reply, d.last_error, d.relay, d.attempts
		FROM deliveries d JOIN subscribers p ON p.id = d.subscriber_id WHERE d.issue_id = ?`, f.issueID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]delivery{}
	for rows.Next() {
		var e string
		var d delivery
		if err := rows.Scan(&e, &d.State, &d.FailKind, &d.Reply, &d.LastError, &d.Relay, &d.Attempts); err != nil {
			t.Fatal(err)
		}
		out[e] = d
	}
	return out
}

func (f *fixture) scalar(t testing.TB, q string, args ...any) string {
	t.Helper()
	var s string
	if err := f.d.R.QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// received counts messages per recipient address at a sink.
func received(s *smtpsink.Server) map[string]int {
	m := map[string]int{}
	for _, msg := range s.Messages() {
		for _, to := range msg.To {
			m[to]++
		}
	}
	return m
}

// events records observer events.
type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) Observe(ev Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev)
	e.mu.Unlock()
}

func (e *events) of(k EventKind) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.ev {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// openDB opens a second handle on the same file: another "process" as far
// as SQLite locking and leases are concerned.
func openDB(t testing.TB, path string) (*db.DB, error) {
	d, err := db.Open(context.Background(), path)
	if err == nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}
