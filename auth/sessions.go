package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tidings/tidings/db"
)

// NewSession starts a session for userID and returns its id (the cookie
// value). Expired sessions of every user are swept at the same time, so
// the table holds only live ones without a janitor.
func (s *Store) NewSession(ctx context.Context, tx *sql.Tx, userID int64, ip, userAgent string) (string, error) {
	id, err := NewSecret()
	if err != nil {
		return "", err
	}
	now := s.Now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE seen_at <= ? OR created_at <= ?`,
		db.Unix(now.Add(-s.Idle)), db.Unix(now.Add(-s.Absolute))); err != nil {
		return "", fmt.Errorf("sweep sessions: %w", err)
	}
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, seen_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?)`,
		HashSecret(id), userID, db.Unix(now), db.Unix(now), ip, userAgent); err != nil {
		return "", fmt.Errorf("start session: %w", err)
	}
	return id, nil
}

// SessionUser is the user of a live session. It renews the idle expiry,
// writing at most once a minute per session. An expired session is
// deleted and answers ErrNoSession.
func (s *Store) SessionUser(ctx context.Context, id string) (int64, error) {
	if id == "" {
		return 0, ErrNoSession
	}
	h := HashSecret(id)
	var userID, created, seen int64
	err := s.DB.R.QueryRowContext(ctx, `SELECT user_id, created_at, seen_at FROM sessions WHERE id_hash = ?`, h).Scan(&userID, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoSession
	}
	if err != nil {
		return 0, fmt.Errorf("read session: %w", err)
	}
	now := s.Now()
	if !now.Before(db.Time(seen).Add(s.Idle)) || !now.Before(db.Time(created).Add(s.Absolute)) {
		if err := s.EndSession(ctx, id); err != nil {
			return 0, err
		}
		return 0, ErrNoSession
	}
	if now.Sub(db.Time(seen)) >= touchEvery {
		err := s.DB.WriteTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET seen_at = ? WHERE id_hash = ?`, db.Unix(now), h)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("renew session: %w", err)
		}
	}
	return userID, nil
}

// EndSession deletes one session (signing out); an unknown id is no error.
func (s *Store) EndSession(ctx context.Context, id string) error {
	return s.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, HashSecret(id)); err != nil {
			return fmt.Errorf("end session: %w", err)
		}
		return nil
	})
}

// EndSessions deletes every session of a user (sign out everywhere).
func (s *Store) EndSessions(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

// NewLink makes a one-time sign-in link value for userID, valid LinkTTL.
// Earlier unused links of the user stop working: only the newest counts.
func (s *Store) NewLink(ctx context.Context, tx *sql.Tx, userID int64) (string, error) {
	v, err := NewSecret()
	if err != nil {
		return "", err
	}
	now := s.Now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM signin_links WHERE user_id = ? OR expires_at <= ?`, userID, db.Unix(now)); err != nil {
		return "", fmt.Errorf("sign-in link: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO signin_links (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		HashSecret(v), userID, db.Unix(now), db.Unix(now.Add(s.LinkTTL))); err != nil {
		return "", fmt.Errorf("sign-in link: %w", err)
	}
	return v, nil
}

// LinkUser is whom a link is for, without using it up (mail scanners
// open links with GET).
func (s *Store) LinkUser(ctx context.Context, q Querier, v string) (int64, error) {
	if q == nil {
		q = s.DB.R
	}
	var userID int64
	err := q.QueryRowContext(ctx, `SELECT user_id FROM signin_links WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
		HashSecret(v), db.Unix(s.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoLink
	}
	if err != nil {
		return 0, fmt.Errorf("read sign-in link: %w", err)
	}
	return userID, nil
}

// UseLink uses a link up inside tx and returns its user; a second use,
// or one after expiry, is ErrNoLink.
func (s *Store) UseLink(ctx context.Context, tx *sql.Tx, v string) (int64, error) {
	var userID int64
	err := tx.QueryRowContext(ctx, `UPDATE signin_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id`,
		db.Unix(s.Now()), HashSecret(v), db.Unix(s.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoLink
	}
	if err != nil {
		return 0, fmt.Errorf("use sign-in link: %w", err)
	}
	return userID, nil
}
