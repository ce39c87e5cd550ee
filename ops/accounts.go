// accounts.go holds the account types and what every account operation
// shares: the store, the sign-in limits, password and list checks.

package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
)

// User is a console account.
type User struct {
	ID        int64
	Email     string
	Role      tidings.Role
	AllLists  bool
	Lists     []string // slugs, when not AllLists
	LastLogin time.Time
	CreatedAt time.Time
}

// NewUser is what AddUser needs. Without Password the user gets a
// one-time sign-in link (24 h) to set one.
type NewUser struct {
	Email    string
	Role     tidings.Role
	Lists    []string // slugs; empty = every list
	Password string
}

// Token is an API token (its secret is shown once, by AddToken).
type Token struct {
	ID        int64
	Name      string
	Role      tidings.Role
	AllLists  bool
	Lists     []string
	LastUsed  time.Time
	CreatedAt time.Time
}

// Session is a signed-in console session.
type Session struct {
	ID    string // the cookie value; only its hash is stored
	Actor tidings.Actor
}

// Sign-in limits: failures per address and per client IP in a sliding
// window. The per-IP limit is higher because one office may share an
// address; the per-address one stops guessing one person's password from
// many addresses. Each limiter holds at most limiterKeys keys.
const (
	signInPerAddress = 5
	signInPerIP      = 30
	signInWindow     = 15 * time.Minute
	limiterKeys      = 10000
	// Passwords: at least 8 characters (NIST SP 800-63B); at most 1024
	// bytes, so a request cannot make hashing arbitrarily long input.
	minPassword = 8
	maxPassword = 1024
)

// accounts is the Service's account state: the store and the sign-in
// limiters (in memory, per process).
type accounts struct {
	store  *auth.Store
	byAddr *auth.Limiter
	byIP   *auth.Limiter
}

// acct is the service's account state, made on first use.
func (s *Service) acct() *accounts {
	s.acctOnce.Do(func() {
		now := func() time.Time { return s.now() }
		s.accts = &accounts{
			store:  auth.NewStore(s.d, now),
			byAddr: auth.NewLimiter(signInPerAddress, signInWindow, limiterKeys, now),
			byIP:   auth.NewLimiter(signInPerIP, signInWindow, limiterKeys, now),
		}
	})
	return s.accts
}

// AuthStore is the account store under the service, for tests and tools
// that tune lifetimes or hashing parameters.
func (s *Service) AuthStore() *auth.Store { return s.acct().store }

// errBadCredentials is the one answer to an unknown address and a wrong
// password alike.
var errBadCredentials = fmt.Errorf("%w: %w", auth.ErrBadPassword, ErrUnauthenticated)

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < minPassword {
		return Invalid("password", "too short: at least %d characters", minPassword)
	}
	if len(pw) > maxPassword {
		return Invalid("password", "too long: at most %d bytes", maxPassword)
	}
	return nil
}

// resolveLists turns list slugs into ids; an unknown slug is bad input in
// field "lists". Empty slugs mean every list.
func (s *Service) resolveLists(ctx context.Context, slugs []string) (all bool, ids []int64, err error) {
	ids = []int64{}
	seen := map[string]bool{}
	var byslug map[string]int64 // read once, at the first slug (lists are few)
	for _, slug := range slugs {
		slug = strings.TrimSpace(slug)
		if slug == "" || seen[slug] {
			continue
		}
		seen[slug] = true
		if byslug == nil {
			m, err := s.listSlugs(ctx)
			if err != nil {
				return false, nil, err
			}
			byslug = make(map[string]int64, len(m))
			for id, sl := range m {
				byslug[sl] = id
			}
		}
		id, ok := byslug[slug]
		if !ok {
			return false, nil, Invalid("lists", "no list %q", slug)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // the order the store reads them back in
	return len(seen) == 0, ids, nil
}

// listSlugs maps every list id to its slug (lists are few).
func (s *Service) listSlugs(ctx context.Context) (map[int64]string, error) {
	rows, err := s.d.R.QueryContext(ctx, `SELECT id, slug FROM lists`)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer rows.Close()
	m := map[int64]string{}
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			return nil, fmt.Errorf("lists: %w", err)
		}
		m[id] = slug
	}
	return m, rows.Err()
}

func slugsOf(m map[int64]string, ids []int64) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if s, ok := m[id]; ok {
			out = append(out, s)
		}
	}
	return out
}

func checkRole(r tidings.Role) error {
	if _, err := tidings.ParseRole(string(r)); err != nil {
		return Invalid("role", "%q: want admin or editor", string(r))
	}
	return nil
}
