package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings/tidings/db"
)

// APIToken is a stored API token (its secret is never stored).
type APIToken struct {
	ID        int64
	Name      string
	Role      string
	AllLists  bool
	ListIDs   []int64
	CreatedAt time.Time
	LastUsed  time.Time // zero: never
}

// InsertToken stores a new token and returns its secret, to be shown
// once; ErrExists when the name is taken.
func (s *Store) InsertToken(ctx context.Context, tx *sql.Tx, t APIToken) (id int64, secret string, err error) {
	v, err := NewSecret()
	if err != nil {
		return 0, "", err
	}
	secret = TokenPrefix + v
	res, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, role, all_lists, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.Name, HashSecret(secret), t.Role, t.AllLists, db.Unix(s.Now()))
	if isUnique(err) {
		return 0, "", fmt.Errorf("token %s: %w", t.Name, ErrExists)
	}
	if err != nil {
		return 0, "", fmt.Errorf("add token %s: %w", t.Name, err)
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, "", fmt.Errorf("add token %s: %w", t.Name, err)
	}
	if !t.AllLists {
		for _, l := range t.ListIDs {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO token_lists (token_id, list_id) VALUES (?, ?)`, id, l); err != nil {
				return 0, "", fmt.Errorf("add token %s list %d: %w", t.Name, l, err)
			}
		}
	}
	return id, secret, nil
}

// TokenBySecret is the token a bearer secret names. It records the use,
// writing last_used at most once a minute per token so that a busy
// script does not cost a write per request.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (*APIToken, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, ErrNoToken
	}
	var t APIToken
	var created int64
	var last sql.NullInt64
	err := s.DB.R.QueryRowContext(ctx, `SELECT id, name, role, all_lists, created_at, last_used FROM api_tokens WHERE hash = ?`,
		HashSecret(secret)).Scan(&t.ID, &t.Name, &t.Role, &t.AllLists, &created, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("read token: %w", err)
	}
	t.CreatedAt, t.LastUsed = db.Time(created), nullTime(last)
	if !t.AllLists {
		if t.ListIDs, err = listIDs(ctx, s.DB.R, `SELECT list_id FROM token_lists WHERE token_id = ? ORDER BY list_id`, t.ID); err != nil {
			return nil, fmt.Errorf("read token %s lists: %w", t.Name, err)
		}
	}
	now := s.Now()
	if !last.Valid || now.Sub(t.LastUsed) >= touchEvery {
		err := s.DB.WriteTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, db.Unix(now), t.ID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("record token use: %w", err)
		}
		t.LastUsed = db.Time(db.Unix(now))
	}
	return &t, nil
}

// Tokens are every token, by name, with their lists.
func (s *Store) Tokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT id, name, role, all_lists, created_at, last_used FROM api_tokens ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	var out []APIToken
	byID := map[int64]int{}
	for rows.Next() {
		var t APIToken
		var created int64
		var last sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.AllLists, &created, &last); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.CreatedAt, t.LastUsed = db.Time(created), nullTime(last)
		if !t.AllLists {
			t.ListIDs = []int64{}
		}
		byID[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	if err := eachLink(ctx, s.DB.R, `SELECT token_id, list_id FROM token_lists ORDER BY token_id, list_id`, func(id, list int64) {
		if i, ok := byID[id]; ok {
			out[i].ListIDs = append(out[i].ListIDs, list)
		}
	}); err != nil {
		return nil, fmt.Errorf("list token lists: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token by name.
func (s *Store) DeleteToken(ctx context.Context, tx *sql.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `DELETE FROM api_tokens WHERE name = ? RETURNING id`, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoToken
	}
	if err != nil {
		return 0, fmt.Errorf("remove token %s: %w", name, err)
	}
	return id, nil
}
