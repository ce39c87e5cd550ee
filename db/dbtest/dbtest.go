// Package dbtest gives tests a real, migrated SQLite database in a temporary
// directory.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/db"
)

// MustOpenDB opens a fresh database in tb.TempDir() and closes it at cleanup.
func MustOpenDB(tb testing.TB) *db.DB {
	tb.Helper()
	d, err := db.Open(context.Background(), filepath.Join(tb.TempDir(), "tidings.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
