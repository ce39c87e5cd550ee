// users.go holds the console accounts an admin manages.

package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/db"
)

// Users lists the console accounts (admin).
func (s *Service) Users(ctx context.Context, a tidings.Actor) ([]User, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	accs, err := s.acct().store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(accs))
	for i, acc := range accs {
		out[i] = userOf(&acc, slugs)
	}
	return out, nil
}

func userOf(acc *auth.Account, slugs map[int64]string) User {
	u := User{ID: acc.ID, Email: acc.Email, Role: tidings.Role(acc.Role), AllLists: acc.AllLists,
		LastLogin: acc.LastLogin, CreatedAt: acc.CreatedAt}
	if !acc.AllLists {
		u.Lists = slugsOf(slugs, acc.ListIDs)
	}
	return u
}

// AddUser adds an account (admin); link is the one-time sign-in URL when
// no password was given.
func (s *Service) AddUser(ctx context.Context, a tidings.Actor, u NewUser) (_ *User, link string, err error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, "", err
	}
	em, err := tidings.ParseEmail(u.Email)
	if err != nil {
		return nil, "", Invalid("email", "%v", err)
	}
	if err := checkRole(u.Role); err != nil {
		return nil, "", err
	}
	role, _ := tidings.ParseRole(string(u.Role))
	all, ids, err := s.resolveLists(ctx, u.Lists)
	if err != nil {
		return nil, "", err
	}
	st := s.acct().store
	var hash string
	if u.Password != "" {
		if err := checkPassword(u.Password); err != nil {
			return nil, "", err
		}
		if hash, err = auth.HashPassword(u.Password, st.Params); err != nil {
			return nil, "", err
		}
	}
	acc := auth.Account{Email: em.Key, Role: string(role), AllLists: all, ListIDs: ids, Hash: hash}
	var value string
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		id, err := st.InsertAccount(ctx, tx, acc)
		if err != nil {
			return err
		}
		acc.ID = id
		if hash == "" {
			if value, err = st.NewLink(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.add", ObjectKind: "user", ObjectID: acc.Email,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, u.Lists)}})
	})
	if errors.Is(err, auth.ErrExists) {
		return nil, "", fmt.Errorf("user %s already exists: %w", acc.Email, ErrConflict)
	}
	if err != nil {
		return nil, "", fmt.Errorf("add user %s: %w", acc.Email, err)
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, "", err
	}
	acc.CreatedAt = db.Time(db.Unix(s.now()))
	out := userOf(&acc, slugs)
	if value != "" {
		link = s.signInURL(value)
	}
	return &out, link, nil
}

func listsDetail(all bool, slugs []string) any {
	if all {
		return "all"
	}
	return slugs
}

// signInURL is where a sign-in link value is opened: the console's
// /admin/link/{value}.
func (s *Service) signInURL(value string) string {
	base := s.deps.ConsoleURL
	if base == "" {
		base = strings.TrimRight(s.deps.Links.Base, "/") + "/admin/"
	}
	return strings.TrimRight(base, "/") + "/link/" + value
}

// RemoveUser removes an account and ends its sessions (admin).
func (s *Service) RemoveUser(ctx context.Context, a tidings.Actor, email string) error {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return err
	}
	email = accountKey(email)
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.acct().store.DeleteAccount(ctx, tx, email); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.rm", ObjectKind: "user", ObjectID: email})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return fmt.Errorf("no user %s: %w", email, ErrNotFound)
	}
	return err
}

// SetUserAccess changes an account's role and lists (admin); empty lists
// = every list. It takes effect at the account's next request: sessions
// read the account afresh each time.
func (s *Service) SetUserAccess(ctx context.Context, a tidings.Actor, email string, role tidings.Role, lists []string) (*User, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	role, _ = tidings.ParseRole(string(role))
	all, ids, err := s.resolveLists(ctx, lists)
	if err != nil {
		return nil, err
	}
	st := s.acct().store
	key := accountKey(email)
	var acc *auth.Account
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if acc, err = st.AccountByEmail(ctx, tx, key); err != nil {
			return err
		}
		if err := st.SetAccess(ctx, tx, acc.ID, string(role), all, ids); err != nil {
			return err
		}
		acc.Role, acc.AllLists, acc.ListIDs = string(role), all, ids
		return s.record(ctx, tx, a, auditEntry{Action: "user.set", ObjectKind: "user", ObjectID: acc.Email,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, lists)}})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return nil, fmt.Errorf("no user %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("set user %s: %w", key, err)
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	u := userOf(acc, slugs)
	return &u, nil
}

// NewSignInLink gives an existing account a fresh one-time sign-in link
// (admin), for a person who lost their password or their first link.
// Earlier links stop working; the current password keeps working until
// the link is used.
func (s *Service) NewSignInLink(ctx context.Context, a tidings.Actor, email string) (string, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return "", err
	}
	st := s.acct().store
	key := accountKey(email)
	var value string
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		acc, err := st.AccountByEmail(ctx, tx, key)
		if err != nil {
			return err
		}
		if value, err = st.NewLink(ctx, tx, acc.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.link", ObjectKind: "user", ObjectID: acc.Email})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return "", fmt.Errorf("no user %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sign-in link for %s: %w", key, err)
	}
	return s.signInURL(value), nil
}
