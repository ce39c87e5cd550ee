// Package db opens the tidings SQLite database: WAL, busy timeout, foreign
// keys, immediate write transactions, and forward migrations keyed by
// PRAGMA user_version. A file that is not a tidings database, or that a
// newer tidings wrote, is refused rather than rewritten.
package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/tidings/tidings"
)

// ApplicationID marks a SQLite file as a tidings database ("TIDG").
const ApplicationID = 0x54494447

var (
	// ErrNotTidings: the file is a database (or not even that) of something else.
	ErrNotTidings = errors.New("not a tidings database")
	// ErrTooNew: the file was migrated by a newer tidings than this binary.
	ErrTooNew = errors.New("database is newer than this tidings")
)

// DB is a tidings database: one writer connection (SQLite has one writer at
// a time anyway; queueing in Go beats "database is locked") and a pool of
// readers, which WAL lets run beside the writer and beside other processes.
type DB struct {
	Path string
	W    *sql.DB // writes; BEGIN IMMEDIATE, one connection
	R    *sql.DB // reads; query-only connections
	Now  func() time.Time
}

// uriPath escapes what a SQLite URI filename would read as its query or
// fragment, so any file name works.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func dsn(path string, write bool) string {
	esc := uriPath.Replace(path)
	q := "_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_secure_delete=on"
	if write {
		q += "&_txlock=immediate"
	} else {
		q += "&_txlock=deferred&_query_only=true"
	}
	return "file:" + esc + "?" + q
}

// Open opens (creating if needed) and migrates the database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open database: empty path")
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("open database %s: is a directory", path)
	}
	if err := precheck(ctx, path); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	d := &DB{Path: path, W: w, Now: time.Now}
	if err := d.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	d.R = r
	return d, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	var errs []error
	if d.R != nil {
		errs = append(errs, d.R.Close())
	}
	errs = append(errs, d.W.Close())
	return errors.Join(errs...)
}

// migrations are the schema steps this binary knows; a variable so tests
// can play a newer binary against a database an older one wrote.
var migrations = tidings.Migrations

// Version is the schema version this binary writes.
func Version() int {
	m, err := migrations()
	if err != nil {
		panic(err) // schema.sql is embedded; TestMigrations guards it
	}
	return len(m)
}

func (d *DB) migrate(ctx context.Context) error {
	migs, err := migrations()
	if err != nil {
		return err
	}
	conn, err := d.W.Conn(ctx)
	if err != nil {
		return notDatabase(err)
	}
	defer conn.Close()
	version, err := identify(ctx, conn)
	if err != nil {
		return err
	}
	if version > len(migs) {
		return fmt.Errorf("%w: schema version %d, this binary knows up to %d", ErrTooNew, version, len(migs))
	}
	if version == len(migs) {
		return d.ensureSecret(ctx, conn)
	}
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: concurrent openers queue here
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	// Another process may have migrated while we waited for the lock.
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migs[version:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.Version, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migs))); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return d.ensureSecret(ctx, conn)
}

// precheck looks at an existing file through a connection that changes
// nothing (no WAL switch, no migration), so a foreign file stays untouched.
func precheck(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return nil // created below
	}
	c, err := sql.Open("sqlite3", "file:"+uriPath.Replace(path)+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return err
	}
	defer c.Close()
	conn, err := c.Conn(ctx)
	if err != nil {
		return notDatabase(err)
	}
	defer conn.Close()
	_, err = identify(ctx, conn)
	return err
}

// identify reads the file's schema version and refuses files that hold
// another application's tables. Its first statement is where SQLite
// notices a file that is not a database at all.
func identify(ctx context.Context, conn *sql.Conn) (version int, err error) {
	var appID int
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return 0, notDatabase(err)
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, notDatabase(err)
	}
	if appID == ApplicationID {
		return version, nil
	}
	if appID != 0 {
		return 0, fmt.Errorf("%w (application id %#x)", ErrNotTidings, appID)
	}
	var tables int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return 0, notDatabase(err)
	}
	if tables > 0 || version != 0 {
		return 0, fmt.Errorf("%w: it holds %d other schema objects", ErrNotTidings, tables)
	}
	return version, nil
}

func notDatabase(err error) error {
	if strings.Contains(err.Error(), "not a database") || strings.Contains(err.Error(), "malformed") {
		return fmt.Errorf("%w: %v", ErrNotTidings, err)
	}
	return err
}

func (d *DB) ensureSecret(ctx context.Context, conn *sql.Conn) error {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generate secret: %w", err)
	}
	// INSERT OR IGNORE: two first openers may both find no secret; one wins.
	var exists int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key = 'secret'").Scan(&exists); err != nil {
		return fmt.Errorf("read secret: %w", err)
	}
	if exists > 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", secret); err != nil {
		return fmt.Errorf("store secret: %w", err)
	}
	return nil
}

// Secret is the database's HMAC key for reader tokens, made at first open.
func (d *DB) Secret(ctx context.Context) ([]byte, error) {
	var s []byte
	if err := d.R.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'secret'").Scan(&s); err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	return s, nil
}

// WriteTx runs fn in one immediate write transaction, committing when fn
// returns nil. Every multi-statement change goes through here, so a crash
// leaves either all of it or none.
func (d *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Checkpoint folds the WAL into the main file and truncates it, so bytes
// that secure_delete zeroed in the database do not survive in the WAL.
func (d *DB) Checkpoint(ctx context.Context) error {
	if _, err := d.W.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// CheckpointPassive folds what it can of the WAL into the main file
// without waiting for readers: serve's tidy-up at shutdown. A reader that
// never lets go (a replication tool such as Litestream keeps a read open)
// would otherwise hold a truncating checkpoint for the whole busy timeout.
func (d *DB) CheckpointPassive(ctx context.Context) error {
	if _, err := d.W.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Unix is the storage form of a time: seconds since the epoch, UTC.
func Unix(t time.Time) int64 { return t.Unix() }

// Time turns a stored Unix time back into a time.Time (zero for 0).
func Time(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
