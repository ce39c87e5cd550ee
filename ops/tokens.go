// tokens.go holds the API tokens an admin manages.

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

// Tokens lists the API tokens (admin).
func (s *Service) Tokens(ctx context.Context, a tidings.Actor) ([]Token, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	ts, err := s.acct().store.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = Token{ID: t.ID, Name: t.Name, Role: tidings.Role(t.Role), AllLists: t.AllLists,
			LastUsed: t.LastUsed, CreatedAt: t.CreatedAt}
		if !t.AllLists {
			out[i].Lists = slugsOf(slugs, t.ListIDs)
		}
	}
	return out, nil
}

func checkTokenName(name string) error {
	if name == "" {
		return Invalid("name", "empty: give the token a name such as ci or import-script")
	}
	if len(name) > 64 {
		return Invalid("name", "%q is %d bytes long, at most 64", name, len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return Invalid("name", "%q: use letters, digits, '-', '_' and '.' only", name)
		}
	}
	return nil
}

// AddToken makes a token (admin) and returns its secret, shown this once.
func (s *Service) AddToken(ctx context.Context, a tidings.Actor, name string, role tidings.Role, lists []string) (_ *Token, secret string, err error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, "", err
	}
	name = strings.TrimSpace(name)
	if err := checkTokenName(name); err != nil {
		return nil, "", err
	}
	if err := checkRole(role); err != nil {
		return nil, "", err
	}
	role, _ = tidings.ParseRole(string(role))
	all, ids, err := s.resolveLists(ctx, lists)
	if err != nil {
		return nil, "", err
	}
	t := auth.APIToken{Name: name, Role: string(role), AllLists: all, ListIDs: ids}
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t.ID, secret, err = s.acct().store.InsertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "token.add", ObjectKind: "token", ObjectID: name,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, lists)}})
	})
	if errors.Is(err, auth.ErrExists) {
		return nil, "", fmt.Errorf("token %s already exists: %w", name, ErrConflict)
	}
	if err != nil {
		return nil, "", fmt.Errorf("add token %s: %w", name, err)
	}
	out := &Token{ID: t.ID, Name: name, Role: role, AllLists: all, CreatedAt: db.Time(db.Unix(s.now()))}
	if !all {
		slugs, err := s.listSlugs(ctx)
		if err != nil {
			return nil, "", err
		}
		out.Lists = slugsOf(slugs, ids)
	}
	return out, secret, nil
}

// RemoveToken revokes a token (admin).
func (s *Service) RemoveToken(ctx context.Context, a tidings.Actor, name string) error {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.acct().store.DeleteToken(ctx, tx, name); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "token.rm", ObjectKind: "token", ObjectID: name})
	})
	if errors.Is(err, auth.ErrNoToken) {
		return fmt.Errorf("no token %s: %w", name, ErrNotFound)
	}
	return err
}
