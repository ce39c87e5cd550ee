package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// serve's checkpoint at shutdown must not wait out the busy timeout for a
// reader that never lets go: Litestream keeps a read transaction open on
// the database it replicates. The passive checkpoint returns while such a
// reader still holds its snapshot.
func TestPassiveCheckpointDoesNotWaitForReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	d, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.W.Exec(`INSERT INTO meta (key, value) VALUES ('a', 'b')`); err != nil {
		t.Fatal(err)
	}
	// Another process's reader, holding a snapshot (as Litestream does).
	other, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM meta`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := d.W.Exec(`INSERT INTO meta (key, value) VALUES ('c', 'd')`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.CheckpointPassive(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second): // the busy timeout is 10 s
		t.Fatal("the passive checkpoint waited for the reader")
	}
	tx.Rollback()
}
