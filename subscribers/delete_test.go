package subscribers_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// TestDeleteErasesEveryTrace: after sub delete, the address appears in no
// table and in neither the database file nor its WAL.
func TestDeleteErasesEveryTrace(t *testing.T) {
	s, d := newStore(t)
	l := fixture(t, s)
	const addr = "Erase.Me-7f3a@example.org"
	p := mustSub(t, s, l.ID, addr, subscribers.TopicChoice{Slugs: []string{"ai"}}, tidings.StatusConfirmed)
	keep := mustSub(t, s, l.ID, "keep@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	if err := s.SetName(ctx, p.ID, "Erase Me Name"); err != nil {
		t.Fatal(err)
	}
	// Rows of later features that point at the person.
	for _, q := range []string{
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (1, ?1, 1, 'No. 1', 0)",
		"INSERT INTO deliveries (issue_id, subscriber_id, state, last_error, created_at, updated_at) VALUES (1, ?2, 'failed', '550 Erase.Me-7f3a@example.org unknown', 0, 0)",
		"INSERT INTO deliveries (issue_id, subscriber_id, state, created_at, updated_at) VALUES (1, ?3, 'sent', 0, 0)",
		"INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, diagnostic, at) VALUES (?2, ?1, 1, 'hard', 'Erase.Me-7f3a@example.org: no such user', 0)",
		"INSERT INTO used_tokens (nonce, subscriber_id, used_at) VALUES (x'01', ?2, 0)",
	} {
		if _, err := d.W.Exec(q, l.ID, p.ID, keep.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Delete(ctx, "erase.me-7f3a@EXAMPLE.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, addr); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("still found: %v", err)
	}
	for table, want := range map[string]int{"subscribers": 1, "subscriptions": 1, "subscription_topics": 0, "deliveries": 1, "bounces": 0, "used_tokens": 0} {
		var n int
		if err := d.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	for _, f := range []string{d.Path, d.Path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, needle := range []string{"Erase.Me-7f3a", "erase.me-7f3a", "Erase Me Name"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s still holds %q", f, needle)
			}
		}
	}
	if err := s.Delete(ctx, addr); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
