package schedule

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tidings/tidings/db"
)

// SenderLease is the name of the lease whose holder runs schedules.
const SenderLease = "sender"

// Lease is a named, expiring role in table leases. Whoever holds an
// unexpired row owns the role; a holder that dies stops renewing and
// another process takes over once Until has passed. Times come from Now
// so tests can expire a lease without waiting.
type Lease struct {
	DB    *db.DB
	Name  string
	Owner string
	TTL   time.Duration
	Now   func() time.Time
}

// Holder is who holds a lease and until when.
type Holder struct {
	Owner string
	Until time.Time
}

// DefaultOwner names this process: hostname, pid and a random suffix, so
// two daemons on one host (or a restarted one reusing a pid) differ.
func DefaultOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Acquire takes the lease when it is free or expired, or renews it when
// this owner holds it, and reports whether this owner holds it now
// together with the current holder.
func (l *Lease) Acquire(ctx context.Context) (bool, Holder, error) {
	now := l.Now()
	until := now.Add(l.TTL)
	var h Holder
	err := l.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO leases (name, owner, until) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
			WHERE leases.owner = excluded.owner OR leases.until <= ?`,
			l.Name, l.Owner, until.Unix(), now.Unix())
		if err != nil {
			return err
		}
		var u int64
		if err := tx.QueryRowContext(ctx, `SELECT owner, until FROM leases WHERE name = ?`, l.Name).Scan(&h.Owner, &u); err != nil {
			return err
		}
		h.Until = time.Unix(u, 0)
		return nil
	})
	if err != nil {
		return false, Holder{}, fmt.Errorf("lease %s: %w", l.Name, err)
	}
	return h.Owner == l.Owner, h, nil
}

// held reports, inside a transaction, whether this owner holds the lease
// at now: work is claimed only in the same transaction that checks it, so
// two processes never claim the same tick.
func (l *Lease) held(ctx context.Context, tx *sql.Tx, now time.Time) (bool, error) {
	var owner string
	var until int64
	err := tx.QueryRowContext(ctx, `SELECT owner, until FROM leases WHERE name = ?`, l.Name).Scan(&owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", l.Name, err)
	}
	return owner == l.Owner && until > now.Unix(), nil
}

// Release gives the lease up at once when this owner holds it, so a
// standby takes over without waiting for it to expire.
func (l *Lease) Release(ctx context.Context) error {
	if _, err := l.DB.W.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND owner = ?`, l.Name, l.Owner); err != nil {
		return fmt.Errorf("release lease %s: %w", l.Name, err)
	}
	return nil
}
