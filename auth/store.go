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

// Default lifetimes. A session ends after Idle without a request or
// Absolute after sign-in, whichever comes first; a sign-in link after
// LinkTTL.
const (
	DefaultIdle     = 12 * time.Hour
	DefaultAbsolute = 7 * 24 * time.Hour
	DefaultLinkTTL  = 24 * time.Hour
	// touchEvery bounds writes: a session's seen_at and a token's
	// last_used are rewritten at most this often, not on every request.
	touchEvery = time.Minute
)

// Store keeps accounts, sessions, sign-in links and API tokens in the
// tidings database.
type Store struct {
	DB       *db.DB
	Now      func() time.Time
	Params   Params
	Idle     time.Duration
	Absolute time.Duration
	LinkTTL  time.Duration
}

// NewStore is a Store with the default parameters and lifetimes.
func NewStore(d *db.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{DB: d, Now: now, Params: DefaultParams, Idle: DefaultIdle, Absolute: DefaultAbsolute, LinkTTL: DefaultLinkTTL}
}

// Querier is a transaction or a pool.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Account is a console user as stored.
type Account struct {
	ID        int64
	Email     string // lower-case
	Role      string
	AllLists  bool
	ListIDs   []int64 // when not AllLists
	Lang      string
	Hash      string // PHC string; "" = no password yet
	CreatedAt time.Time
	LastLogin time.Time // zero: never
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func nullTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return db.Time(v.Int64)
}

const accountCols = `id, email, role, all_lists, password, lang, created_at, last_login`

func scanAccount(sc interface{ Scan(...any) error }) (*Account, error) {
	var a Account
	var created int64
	var last sql.NullInt64
	if err := sc.Scan(&a.ID, &a.Email, &a.Role, &a.AllLists, &a.Hash, &a.Lang, &created, &last); err != nil {
		return nil, err
	}
	a.CreatedAt, a.LastLogin = db.Time(created), nullTime(last)
	return &a, nil
}

// listIDs reads the lists of a limited user or token.
func listIDs(ctx context.Context, q Querier, query string, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var l int64
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		ids = append(ids, l)
	}
	return ids, rows.Err()
}

// AccountByEmail finds an account by its (case-insensitive) address.
func (s *Store) AccountByEmail(ctx context.Context, q Querier, email string) (*Account, error) {
	return s.account(ctx, q, `SELECT `+accountCols+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email)))
}

// AccountByID finds an account by id.
func (s *Store) AccountByID(ctx context.Context, q Querier, id int64) (*Account, error) {
	return s.account(ctx, q, `SELECT `+accountCols+` FROM users WHERE id = ?`, id)
}

func (s *Store) account(ctx context.Context, q Querier, query string, arg any) (*Account, error) {
	if q == nil {
		q = s.DB.R
	}
	a, err := scanAccount(q.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoAccount
	}
	if err != nil {
		return nil, fmt.Errorf("read account: %w", err)
	}
	if !a.AllLists {
		if a.ListIDs, err = listIDs(ctx, q, `SELECT list_id FROM user_lists WHERE user_id = ? ORDER BY list_id`, a.ID); err != nil {
			return nil, fmt.Errorf("read account %s lists: %w", a.Email, err)
		}
	}
	return a, nil
}

// Accounts are every account, by address, with their lists (two queries,
// not one per account).
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+accountCols+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var out []Account
	byID := map[int64]int{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		if !a.AllLists {
			a.ListIDs = []int64{}
		}
		byID[a.ID] = len(out)
		out = append(out, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	if err := eachLink(ctx, s.DB.R, `SELECT user_id, list_id FROM user_lists ORDER BY user_id, list_id`, func(id, list int64) {
		if i, ok := byID[id]; ok {
			out[i].ListIDs = append(out[i].ListIDs, list)
		}
	}); err != nil {
		return nil, fmt.Errorf("list account lists: %w", err)
	}
	return out, nil
}

func eachLink(ctx context.Context, q Querier, query string, fn func(id, list int64)) error {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, list int64
		if err := rows.Scan(&id, &list); err != nil {
			return err
		}
		fn(id, list)
	}
	return rows.Err()
}

// InsertAccount stores a new account (a.Hash may be ""); ErrExists when
// the address is taken.
func (s *Store) InsertAccount(ctx context.Context, tx *sql.Tx, a Account) (int64, error) {
	now := db.Unix(s.Now())
	var pwAt any
	if a.Hash != "" {
		pwAt = now
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO users (email, role, all_lists, password, created_at, password_at) VALUES (?, ?, ?, ?, ?, ?)`,
		strings.ToLower(a.Email), a.Role, a.AllLists, a.Hash, now, pwAt)
	if isUnique(err) {
		return 0, fmt.Errorf("account %s: %w", a.Email, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("add account %s: %w", a.Email, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add account %s: %w", a.Email, err)
	}
	if !a.AllLists {
		if err := grantLists(ctx, tx, id, a.ListIDs); err != nil {
			return 0, fmt.Errorf("add account %s: %w", a.Email, err)
		}
	}
	return id, nil
}

// grantLists gives the account the lists (a list named twice counts once).
func grantLists(ctx context.Context, tx *sql.Tx, userID int64, listIDs []int64) error {
	for _, l := range listIDs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO user_lists (user_id, list_id) VALUES (?, ?)`, userID, l); err != nil {
			return fmt.Errorf("list %d: %w", l, err)
		}
	}
	return nil
}

// DeleteAccount removes an account; its sessions, links and lists go with
// it (foreign keys cascade).
func (s *Store) DeleteAccount(ctx context.Context, tx *sql.Tx, email string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `DELETE FROM users WHERE email = ? RETURNING id`, strings.ToLower(strings.TrimSpace(email))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoAccount
	}
	if err != nil {
		return 0, fmt.Errorf("remove account %s: %w", email, err)
	}
	return id, nil
}

// SetPassword stores a new hash for the account.
func (s *Store) SetPassword(ctx context.Context, tx *sql.Tx, userID int64, hash string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password = ?, password_at = ? WHERE id = ?`, hash, db.Unix(s.Now()), userID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// SetLang stores the console language the user chose ("" = the browser's).
func (s *Store) SetLang(ctx context.Context, userID int64, lang string) error {
	return s.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET lang = ? WHERE id = ?`, lang, userID)
		if err != nil {
			return fmt.Errorf("set language: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNoAccount
		}
		return nil
	})
}

// TouchLogin records a sign-in.
func (s *Store) TouchLogin(ctx context.Context, tx *sql.Tx, userID int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET last_login = ? WHERE id = ?`, db.Unix(s.Now()), userID); err != nil {
		return fmt.Errorf("record sign-in: %w", err)
	}
	return nil
}

// SetAccess replaces an account's role and lists.
func (s *Store) SetAccess(ctx context.Context, tx *sql.Tx, userID int64, role string, allLists bool, listIDs []int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, all_lists = ? WHERE id = ?`, role, allLists, userID); err != nil {
		return fmt.Errorf("set access: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_lists WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("set access: %w", err)
	}
	if !allLists {
		if err := grantLists(ctx, tx, userID, listIDs); err != nil {
			return fmt.Errorf("set access: %w", err)
		}
	}
	return nil
}
