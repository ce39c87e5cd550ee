package bounce

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/tidings/tidings/db/dbtest"
)

func TestKindOf(t *testing.T) {
	for code, want := range map[string]string{
		"5.1.1": Hard, "5.1.10": Hard, "5.2.1": Hard,
		"5.1.7": Soft, "5.1.8": Soft, "5.2.2": Soft, "5.7.1": Soft, "4.2.2": Soft, "": Soft,
	} {
		if got := KindOf(code); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", code, got, want)
		}
	}
}

// Record applies the thresholds: hard bounces for ever, soft bounces
// within the window; a reader who left or was blocked keeps that standing.
func TestRecordThresholds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	rules := Rules{HardLimit: 2, SoftLimit: 2, SoftWindow: 48 * time.Hour}
	type step struct {
		kind   string
		at     time.Duration // after t0
		marked bool
		count  int
	}
	cases := []struct {
		name   string
		status string
		steps  []step
		final  string
	}{
		{"two hard bounces", "confirmed", []step{{Hard, 0, false, 1}, {Hard, 1000 * time.Hour, true, 2}}, "bounced"},
		{"two soft bounces in the window", "confirmed", []step{{Soft, 0, false, 1}, {Soft, 47 * time.Hour, true, 2}}, "bounced"},
		{"soft bounces outside the window", "confirmed", []step{{Soft, 0, false, 1}, {Soft, 49 * time.Hour, false, 1}}, "confirmed"},
		{"hard and soft do not add up", "confirmed", []step{{Hard, 0, false, 1}, {Soft, time.Hour, false, 1}}, "confirmed"},
		{"pending reader", "pending", []step{{Hard, 0, false, 1}, {Hard, time.Hour, true, 2}}, "bounced"},
		{"unsubscribed stays unsubscribed", "unsubscribed", []step{{Hard, 0, false, 1}, {Hard, time.Hour, false, 2}}, "unsubscribed"},
		{"blocked stays blocked", "blocked", []step{{Soft, 0, false, 1}, {Soft, time.Hour, false, 2}}, "blocked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := dbtest.MustOpenDB(t)
			ctx := context.Background()
			if _, err := d.W.Exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (1, 'l', 'L', 'n@example.org', 1);
				INSERT INTO subscribers (id, email, email_key, created_at) VALUES (5, 'a@example.org', 'a@example.org', 1);
				INSERT INTO subscriptions (list_id, subscriber_id, status, created_at, updated_at) VALUES (1, 5, ?, 1, 1)`, c.status); err != nil {
				t.Fatal(err)
			}
			for i, s := range c.steps {
				var o Outcome
				err := d.WriteTx(ctx, func(tx *sql.Tx) (err error) {
					o, err = Record(ctx, tx, Event{SubscriberID: 5, ListID: 1, Kind: s.kind, Code: "5.x", Source: "test", At: t0.Add(s.at)}, rules)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if o.Marked != s.marked || o.Count != s.count {
					t.Errorf("step %d: %+v, want marked %v count %d", i, o, s.marked, s.count)
				}
			}
			var st string
			d.R.QueryRow(`SELECT status FROM subscriptions WHERE subscriber_id = 5`).Scan(&st)
			if st != c.final {
				t.Errorf("status %s, want %s", st, c.final)
			}
		})
	}
}

func TestRecordRefusesUnknownKind(t *testing.T) {
	d := dbtest.MustOpenDB(t)
	err := d.WriteTx(context.Background(), func(tx *sql.Tx) error {
		_, err := Record(context.Background(), tx, Event{SubscriberID: 1, ListID: 1, Kind: "complaint", At: time.Now()}, Rules{})
		return err
	})
	if err == nil {
		t.Fatal("a complaint is not a bounce kind")
	}
}

func TestClipKeepsCharactersWhole(t *testing.T) {
	s := ""
	for len(s) < 1200 {
		s += "邮箱已满"
	}
	c := clip(s)
	if len(c) > 1000 || len(c) < 996 {
		t.Errorf("clipped to %d bytes", len(c))
	}
	for _, r := range c {
		if r == '\uFFFD' {
			t.Fatal("clip cut a character in half")
		}
	}
}
