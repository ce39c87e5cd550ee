package report_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/report"
)

// bigIssue is a sent issue of 100 000 deliveries over 31 topic
// combinations, 10 articles with 3 links each, and a busy tracking table:
// every link clicked by every topic set in each of 48 hours, by people and
// by machines (about 90 000 counter rows).
func bigIssue(b *testing.B) *db.DB {
	b.Helper()
	d := dbtest.MustOpenDB(b)
	const readers = 100_000
	slugs := []string{"a", "b", "c", "d", "e"}
	err := d.WriteTx(context.Background(), func(tx *sql.Tx) error {
		var xerr error
		ex := func(q string, args ...any) {
			if xerr == nil {
				_, xerr = tx.Exec(q, args...)
			}
		}
		ex(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (1, 'big', 'Big', 'b <b@example.org>', 0)`)
		ex(`INSERT INTO issues (id, list_id, number, title, status, created_at) VALUES (1, 1, 1, 'Big', 'sent', 0)`)
		for i, s := range slugs {
			ex(`INSERT INTO topics (id, list_id, slug, name, created_at) VALUES (?, 1, ?, ?, 0)`, i+1, s, s)
			ex(`INSERT INTO track_topics (issue_id, bit, topic_id) VALUES (1, ?, ?)`, i, i+1)
		}
		ex(`INSERT INTO sends (issue_id, state, started_at) VALUES (1, 'done', 1700000000)`)
		for pos := 1; pos <= 10; pos++ {
			ex(`INSERT INTO articles (id, issue_id, position, title, body) VALUES (?, 1, ?, ?, 'x')`, pos, pos, fmt.Sprint("Article ", pos))
			ex(`INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)`, pos, pos%5+1)
			for l := 1; l <= 3; l++ {
				ex(`INSERT INTO track_links (issue_id, position, link, url) VALUES (1, ?, ?, ?)`, pos, l, fmt.Sprintf("https://example.org/%d/%d", pos, l))
			}
		}
		if xerr != nil {
			return xerr
		}
		sub, err := tx.Prepare(`INSERT INTO subscribers (id, email, email_key, created_at) VALUES (?, ?, ?, 0)`)
		if err != nil {
			return err
		}
		del, err := tx.Prepare(`INSERT INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at) VALUES (1, ?, 'sent', ?, 0, 0)`)
		if err != nil {
			return err
		}
		for i := 1; i <= readers; i++ {
			var key []string
			for j, s := range slugs {
				if (i%31+1)&(1<<j) != 0 {
					key = append(key, s)
				}
			}
			e := fmt.Sprintf("r%d@example.org", i)
			if _, err := sub.Exec(i, e, e); err != nil {
				return err
			}
			if _, err := del.Exec(i, strings.Join(key, ",")); err != nil {
				return err
			}
		}
		cnt, err := tx.Prepare(`INSERT INTO track_counts (issue_id, kind, position, link, topic_set, verdict, reason, hour, n) VALUES (1, 'click', ?, ?, ?, ?, ?, ?, 1)`)
		if err != nil {
			return err
		}
		for h := int64(0); h < 48; h++ {
			for pos := 1; pos <= 10; pos++ {
				for l := 1; l <= 3; l++ {
					for set := 1; set <= 31; set++ {
						if _, err := cnt.Exec(pos, l, set, "human", "", 1699999200+h*3600); err != nil {
							return err
						}
						if _, err := cnt.Exec(pos, l, set, "machine", "user_agent", 1699999200+h*3600); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// As a database that has run a while: the pages in the file, not the WAL.
	if _, err := d.W.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkReport is one issue's whole report over bigIssue.
func BenchmarkReport(b *testing.B) {
	d := bigIssue(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		r, err := report.For(ctx, d, 1)
		if err != nil {
			b.Fatal(err)
		}
		if r.Recipients != 100_000 || r.Clicks.Human != 48*30*31 {
			b.Fatalf("recipients %d human clicks %d", r.Recipients, r.Clicks.Human)
		}
	}
}

// BenchmarkClickRate is the home page's figure per send.
func BenchmarkClickRate(b *testing.B) {
	d := bigIssue(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := report.ClickRate(ctx, d, 1); err != nil {
			b.Fatal(err)
		}
	}
}
