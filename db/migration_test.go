package db

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// withMigrations makes this package behave as a binary that knows migs.
func withMigrations(t *testing.T, migs []tidings.Migration) {
	t.Helper()
	old := migrations
	migrations = func() ([]tidings.Migration, error) { return migs, nil }
	t.Cleanup(func() { migrations = old })
}

// An old database opens in a new binary: the missing steps run once, in
// order, keeping the data; a failing step leaves the database as it was;
// the old binary then refuses the newer file without touching it.
func TestForwardMigration(t *testing.T) {
	ctx := context.Background()
	v1, err := tidings.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	v2 := append(append([]tidings.Migration(nil), v1...), tidings.Migration{Version: len(v1) + 1,
		SQL: "ALTER TABLE lists ADD COLUMN r2_note TEXT NOT NULL DEFAULT 'migrated';\nCREATE TABLE r2_extra (id INTEGER PRIMARY KEY);"})
	broken := append(append([]tidings.Migration(nil), v1...), tidings.Migration{Version: len(v1) + 1,
		SQL: "ALTER TABLE lists ADD COLUMN r2_note TEXT;\nCREATE TABLE lists (id INTEGER);"})
	path := filepath.Join(t.TempDir(), "old.db")

	withMigrations(t, v1)
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := d.Secret(ctx)
	if _, err := d.W.Exec("INSERT INTO lists (slug, name, from_addr, created_at) VALUES ('keji', '科技情报', 'n@example.org', 1)"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	version := func(d *DB) (v int) {
		d.R.QueryRow("PRAGMA user_version").Scan(&v)
		return v
	}

	withMigrations(t, broken)
	if _, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migrate to version %d", len(v1)+1)) {
		t.Fatalf("broken migration: %v", err)
	}
	withMigrations(t, v1)
	d, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("after a failed migration: %v", err)
	}
	if v := version(d); v != len(v1) {
		t.Errorf("failed migration left version %d", v)
	}
	if _, err := d.R.Exec("SELECT r2_note FROM lists"); err == nil {
		t.Error("failed migration left half its changes")
	}
	d.Close()

	withMigrations(t, v2)
	for range 2 { // the second open finds nothing to do
		d, err = Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var name, note string
		if err := d.R.QueryRow("SELECT name, r2_note FROM lists WHERE slug = 'keji'").Scan(&name, &note); err != nil || name != "科技情报" || note != "migrated" {
			t.Errorf("after migration: %q %q %v", name, note, err)
		}
		if v := version(d); v != len(v2) {
			t.Errorf("version %d, want %d", v, len(v2))
		}
		if s, _ := d.Secret(ctx); string(s) != string(secret) {
			t.Error("secret changed by the migration")
		}
		d.Close()
	}

	withMigrations(t, v1)
	before, _ := os.ReadFile(path)
	if _, err := Open(ctx, path); !errors.Is(err, ErrTooNew) {
		t.Errorf("old binary on a newer file: %v", err)
	}
	if after, _ := os.ReadFile(path); string(before) != string(after) {
		t.Error("old binary rewrote the newer file")
	}
}

// File names with characters a SQLite URI gives meaning to still name
// the file itself.
func TestOpenOddFileNames(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"a?b.db", "c#d.db", "e%20f.db", "g h.db", "科技.db"} {
		path := filepath.Join(t.TempDir(), name)
		d, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: not created under its own name: %v", name, err)
		}
	}
}

// A daemon and a CLI command may both be first to open a new file: each
// open succeeds, the schema is applied once and there is one secret.
func TestOpenConcurrentFirstOpens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	const n = 4
	dbs := make([]*DB, n)
	errs := make([]error, n)
	done := make(chan int)
	for i := range n {
		go func() {
			dbs[i], errs[i] = Open(ctx, path)
			done <- i
		}()
	}
	for range n {
		<-done
	}
	var secrets []string
	for i, d := range dbs {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		s, err := d.Secret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, string(s))
		defer d.Close()
	}
	for _, s := range secrets[1:] {
		if s != secrets[0] {
			t.Error("openers disagree on the secret")
		}
	}
	var v int
	dbs[0].R.QueryRow("PRAGMA user_version").Scan(&v)
	if v != Version() {
		t.Errorf("version %d, want %d", v, Version())
	}
}
