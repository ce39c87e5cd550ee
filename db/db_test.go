package db_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
)

func TestMigrations(t *testing.T) {
	migs, err := tidings.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migs {
		if m.Version != i+1 || strings.TrimSpace(m.SQL) == "" {
			t.Fatalf("migration %d: version %d, %d bytes", i, m.Version, len(m.SQL))
		}
	}
}

func TestOpenCreatesAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := d.Secret(ctx)
	if err != nil || len(s1) != 32 {
		t.Fatalf("secret %x, %v", s1, err)
	}
	var mode string
	d.R.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var fk int
	d.W.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if fk != 1 {
		t.Errorf("foreign_keys = %d", fk)
	}
	if _, err := d.R.Exec("INSERT INTO meta (key, value) VALUES ('x', 'y')"); err == nil {
		t.Error("read pool accepted a write")
	}
	d.Close()
	d, err = db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s2, _ := d.Secret(ctx)
	if string(s1) != string(s2) {
		t.Error("secret changed on reopen")
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte(strings.Repeat("hello, this is not sqlite\n", 200)), 0o644)

	other := filepath.Join(dir, "other.db")
	o, _ := sql.Open("sqlite3", other)
	if _, err := o.Exec("CREATE TABLE accounts (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	o.Close()

	newer := filepath.Join(dir, "newer.db")
	d, err := db.Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	d.W.Exec("PRAGMA user_version = 999")
	d.Close()

	for _, tc := range []struct {
		path string
		want error
	}{{text, db.ErrNotTidings}, {other, db.ErrNotTidings}, {newer, db.ErrTooNew}} {
		before, _ := os.ReadFile(tc.path)
		_, err := db.Open(ctx, tc.path)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", filepath.Base(tc.path), err, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("error %q does not name the file", err)
		}
		after, _ := os.ReadFile(tc.path)
		if string(before) != string(after) {
			t.Errorf("%s was rewritten", tc.path)
		}
	}
}

// A long write transaction in one connection must make the other writer
// wait (busy timeout), never fail with "database is locked".
func TestConcurrentWritersWait(t *testing.T) {
	ctx := context.Background()
	a := dbtest.MustOpenDB(t)
	b, err := db.Open(ctx, a.Path) // a second "process": its own pools
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := a.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec("INSERT INTO meta (key, value) VALUES ('a', 1)"); err != nil {
				return err
			}
			close(started)
			time.Sleep(1500 * time.Millisecond)
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-started
	// Reads proceed during the write transaction.
	var n int
	if err := b.R.QueryRow("SELECT count(*) FROM meta").Scan(&n); err != nil {
		t.Fatalf("read during write: %v", err)
	}
	for i := range 20 {
		err := b.WriteTx(ctx, func(tx *sql.Tx) error {
			var c int
			if err := tx.QueryRow("SELECT count(*) FROM meta").Scan(&c); err != nil {
				return err
			}
			_, err := tx.Exec("INSERT INTO meta (key, value) VALUES (?, ?)", "b"+string(rune('a'+i)), c)
			return err
		})
		if err != nil {
			t.Fatalf("second writer: %v", err)
		}
	}
	wg.Wait()
}
