// accounts_test.go holds the fixture the account tests share (signin_test.go,
// tokens_test.go, users_test.go, audit_log_test.go): a service with a
// movable clock and cheap password hashing.

package ops

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
)

// acctClock is the controlled clock of the account tests.
type acctClock struct{ t time.Time }

func (c *acctClock) now() time.Time      { return c.t }
func (c *acctClock) add(d time.Duration) { c.t = c.t.Add(d) }

// acctParams keep hashing fast in tests that are not about its cost.
var acctParams = auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// newAcctService is a Service over a fresh database with two lists (ids
// returned), a controlled clock and cheap hashing.
func newAcctService(t *testing.T) (*Service, *acctClock, map[string]int64) {
	t.Helper()
	return newAcctServiceTB(t)
}

func newAcctServiceTB(t testing.TB) (*Service, *acctClock, map[string]int64) {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	c := &acctClock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	s := New(Deps{DB: d, Now: c.now, ConsoleURL: "https://admin.example.org/admin/"})
	s.AuthStore().Params = acctParams
	lists := map[string]int64{}
	for _, slug := range []string{"alpha", "beta"} {
		res, err := d.W.Exec(`INSERT INTO lists (slug, name, from_addr, created_at) VALUES (?, ?, ?, ?)`,
			slug, slug, slug+" <"+slug+"@example.org>", db.Unix(c.t))
		if err != nil {
			t.Fatal(err)
		}
		lists[slug], _ = res.LastInsertId()
	}
	return s, c, lists
}

var actx = context.Background()

func acctAddUser(t *testing.T, s *Service, email string, role tidings.Role, pw string, lists ...string) *User {
	t.Helper()
	u, _, err := s.AddUser(actx, CLI(), NewUser{Email: email, Role: role, Password: pw, Lists: lists})
	if err != nil {
		t.Fatalf("add user %s: %v", email, err)
	}
	return u
}

// acctDBBytes is the database file and its WAL, as an attacker who copied
// them would have them.
func acctDBBytes(t *testing.T, s *Service) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{s.d.Path, s.d.Path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
