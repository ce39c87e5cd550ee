package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
)

// The subscribe page of a list with 100 000 confirmed subscribers: the
// lookups must not count them.
func BenchmarkSubscribePage100k(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	err := e.d.WriteTx(ctx, func(tx *sql.Tx) error {
		for i := 0; i < 100000; i++ {
			res, err := tx.Exec("INSERT INTO subscribers (email, email_key, created_at) VALUES (?, ?, 0)", fmt.Sprintf("u%d@example.net", i), fmt.Sprintf("u%d@example.net", i))
			if err != nil {
				return err
			}
			id, _ := res.LastInsertId()
			if _, err := tx.Exec("INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at) VALUES (?, ?, 'confirmed', ?, 0, 0)", e.en.ID, id, i%2); err != nil {
				return err
			}
			if i%2 == 0 {
				if _, err := tx.Exec("INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) SELECT ?, ?, id FROM topics WHERE list_id = ? LIMIT 2", e.en.ID, id, e.en.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/weekly/subscribe", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// The archive, an issue page and the feed of the long Chinese sample.
func BenchmarkIssuePageZH(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	src, _ := os.ReadFile("../testdata/keji-qingbao-2024-07.md")
	topics, _ := e.subs.Topics(ctx, e.zh.ID)
	is, err := e.iss.Import(ctx, e.zh.ID, "k.md", src, topics)
	if err != nil {
		b.Fatal(err)
	}
	e.iss.MarkSent(ctx, is.ID, e.clk.Now())
	for _, p := range []string{fmt.Sprintf("/keji/archive/%d", is.Number), "/keji/feed.xml", "/keji/archive"} {
		b.Run(p, func(b *testing.B) {
			req := httptest.NewRequest("GET", p, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				e.srv.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
