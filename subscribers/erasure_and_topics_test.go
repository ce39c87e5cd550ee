package subscribers_test

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// "all" is every topic, including topics added after the person chose it;
// a choice of named topics does not grow.
func TestAllTopicsIncludesLaterTopics(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	mustSub(t, s, l.ID, "all@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "ai@example.org", subscribers.TopicChoice{Slugs: []string{"ai"}}, tidings.StatusConfirmed)
	if err := s.AddTopic(ctx, l.ID, &tidings.Topic{Slug: "robots", Name: "机器人"}); err != nil {
		t.Fatal(err)
	}

	var got []string
	err := s.EachSubscriber(ctx, subscribers.Filter{ListID: l.ID, Topic: "robots"}, func(p tidings.Subscriber, _ tidings.Subscription) error {
		got = append(got, p.Email)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"all@example.org"}) {
		t.Errorf("receivers of the new topic: %q, %v", got, err)
	}
	topics, err := s.Topics(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := topics[len(topics)-1]; last.Slug != "robots" || last.Subscribers != 1 {
		t.Errorf("new topic %+v, want robots with 1 subscriber", last)
	}
	var all []bool
	err = s.Recipients(ctx, l.ID, func(r tidings.Recipient) error { all = append(all, r.AllTopics); return nil })
	if err != nil || !reflect.DeepEqual(all, []bool{true, false}) {
		t.Errorf("recipients' AllTopics %v, %v", all, err)
	}
}

// While another connection reads, SQLite cannot truncate the WAL: Delete
// still erases the person (committed) but says the old pages linger,
// rather than claiming no trace is left.
func TestDeleteWhileAnotherReads(t *testing.T) {
	a, b := openTwice(t)
	s := subscribers.NewStore(a)
	l := fixture(t, s)
	mustSub(t, s, l.ID, "busy@example.org", subscribers.AllTopics, tidings.StatusConfirmed)

	// The checkpoint waits out the busy timeout for the reader; keep it short
	// here (W is one connection, so the pragma holds for Delete).
	if _, err := a.W.Exec("PRAGMA busy_timeout = 100"); err != nil {
		t.Fatal(err)
	}
	tx, err := b.R.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM subscribers").Scan(&n); err != nil || n != 1 {
		t.Fatalf("reader: %d, %v", n, err)
	}
	err = s.Delete(ctx, "busy@example.org")
	if !errors.Is(err, subscribers.ErrWALBusy) || !strings.Contains(err.Error(), "busy@example.org") {
		t.Errorf("delete beside a reader: %v, want ErrWALBusy naming the address", err)
	}
	tx.Rollback()
	if _, err := s.Get(ctx, "busy@example.org"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("person still there: %v", err)
	}
	if err := a.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{a.Path, a.Path + "-wal"} {
		if raw, _ := os.ReadFile(f); bytes.Contains(raw, []byte("busy@example.org")) {
			t.Errorf("%s still holds the address after the reader left and a checkpoint", f)
		}
	}
}

// Delete erases a person by deleting one row and letting the cascade do
// the rest, so every table that can hold personal data must reference
// the person with ON DELETE CASCADE. This guards the tables later
// migrations add: one without it would keep data (or block the delete).
func TestEveryPersonalTableCascades(t *testing.T) {
	_, d := newStore(t)
	rows, err := d.R.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		cascades := map[string]bool{} // local column → cascades from subscribers/subscriptions
		fks, err := d.R.Query("SELECT \"table\", \"from\", on_delete FROM pragma_foreign_key_list(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		for fks.Next() {
			var parent, from, onDelete string
			fks.Scan(&parent, &from, &onDelete)
			if (parent == "subscribers" || parent == "subscriptions") && onDelete == "CASCADE" {
				cascades[from] = true
			}
		}
		fks.Close()
		cols, err := d.R.Query("SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var col string
			cols.Scan(&col)
			switch {
			case col == "subscriber_id" && !cascades[col]:
				t.Errorf("%s.subscriber_id does not cascade from subscribers: sub delete would leave it", table)
			// users holds the console's staff accounts, not readers.
			case strings.Contains(col, "email") && table != "subscribers" && table != "users":
				t.Errorf("%s.%s may hold an address outside subscribers: sub delete cannot reach it", table, col)
			}
		}
		cols.Close()
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
}
