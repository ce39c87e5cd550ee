package ops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
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

func TestSignInSucceedsWithRightPasswordOnly(t *testing.T) {
	s, _, lists := newAcctService(t)
	acctAddUser(t, s, "Ann@Example.org", tidings.RoleEditor, "correct horse", "alpha")
	sess, err := s.SignIn(actx, "ann@example.org", "correct horse", "192.0.2.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	a := sess.Actor
	if a.Kind != tidings.ActorUser || a.Name != "ann@example.org" || a.Role != tidings.RoleEditor || a.AllLists ||
		len(a.Lists) != 1 || a.Lists[0] != lists["alpha"] || a.IP != "192.0.2.1" {
		t.Fatalf("actor %+v", a)
	}
	got, err := s.SessionActor(actx, sess.ID, "192.0.2.9")
	if err != nil || got.Name != a.Name || got.IP != "192.0.2.9" {
		t.Fatalf("session actor %+v, %v", got, err)
	}
	// The address as typed on a Chinese keyboard is the same account.
	if _, err := s.SignIn(actx, "ａｎｎ＠ｅｘａｍｐｌｅ．ｏｒｇ", "correct horse", "192.0.2.1", ""); err != nil {
		t.Fatalf("full-width address: %v", err)
	}
	// Session fixation: every sign-in makes a new id.
	sess2, err := s.SignIn(actx, "ANN@example.org ", "correct horse", "192.0.2.1", "test")
	if err != nil || sess2.ID == sess.ID {
		t.Fatalf("second sign-in: %v, same id %v", err, sess2 != nil && sess2.ID == sess.ID)
	}
	if err := s.SignOut(actx, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionActor(actx, sess.ID, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("signed-out session: %v", err)
	}
	if _, err := s.SessionActor(actx, sess2.ID, ""); err != nil {
		t.Fatalf("sign-out ended the other session too: %v", err)
	}
	users, err := s.Users(actx, CLI())
	if err != nil || len(users) != 1 || users[0].LastLogin.IsZero() {
		t.Fatalf("users after sign-in: %+v %v", users, err)
	}
}

func TestSignInWrongPasswordAndUnknownUserSameAnswer(t *testing.T) {
	s, _, _ := newAcctService(t)
	// Real cost here: the timing is what is under test.
	s.AuthStore().Params = auth.DefaultParams
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	acctAddUser(t, s, "nopw@example.org", tidings.RoleAdmin, "") // link only, no password yet

	timed := func(email, pw string) (time.Duration, error) {
		best := time.Hour
		var err error
		for range 3 {
			start := time.Now()
			_, err = s.SignIn(actx, email, pw, "198.51.100.7", "")
			best = min(best, time.Since(start))
		}
		return best, err
	}
	wrongT, wrongErr := timed("ann@example.org", "wrong password")
	unknownT, unknownErr := timed("bob@example.org", "wrong password")
	unsetT, unsetErr := timed("nopw@example.org", "")
	for _, err := range []error{wrongErr, unknownErr, unsetErr} {
		if !errors.Is(err, ErrUnauthenticated) || err.Error() != wrongErr.Error() {
			t.Fatalf("answers differ: %v / %v / %v", wrongErr, unknownErr, unsetErr)
		}
	}
	// Without the dummy hash an unknown address answers in microseconds
	// against tens of milliseconds.
	for name, d := range map[string]time.Duration{"unknown": unknownT, "no password": unsetT} {
		if d < wrongT/4 {
			t.Errorf("%s account answered in %s, wrong password in %s: timing tells them apart", name, d, wrongT)
		}
	}
}

func TestSignInRateLimitedPerAddress(t *testing.T) {
	s, c, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	for i := range signInPerAddress {
		// From different IPs: the address limit must hold on its own.
		ip := "203.0.113." + string(rune('1'+i))
		if _, err := s.SignIn(actx, "ann@example.org", "guess", ip, ""); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		c.add(time.Second)
	}
	_, err := s.SignIn(actx, "ann@example.org", "correct horse", "203.0.113.99", "")
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("6th attempt: %v, want a RateLimitError", err)
	}
	if rl.RetryAfter <= 0 || rl.RetryAfter > signInWindow {
		t.Fatalf("retry after %s", rl.RetryAfter)
	}
	// Another address from the same IPs is not affected.
	acctAddUser(t, s, "bob@example.org", tidings.RoleAdmin, "bobs password")
	if _, err := s.SignIn(actx, "bob@example.org", "bobs password", "203.0.113.1", ""); err != nil {
		t.Fatalf("other address: %v", err)
	}
	c.add(rl.RetryAfter)
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "203.0.113.99", ""); err != nil {
		t.Fatalf("after retry-after: %v", err)
	}
}

func TestSignInParallelGuessesStayWithinTheLimit(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.SignIn(actx, "ann@example.org", "guess", "203.0.113."+strconv.Itoa(i), "")
			errs <- err
		}()
	}
	tried, limited := 0, 0
	for range n {
		switch err := <-errs; {
		case errors.Is(err, ErrRateLimited):
			limited++
		case errors.Is(err, ErrUnauthenticated):
			tried++
		default:
			t.Fatalf("guess: %v", err)
		}
	}
	if tried != signInPerAddress || limited != n-signInPerAddress {
		t.Fatalf("%d parallel guesses: %d checked, %d refused; want %d checked", n, tried, limited, signInPerAddress)
	}
}

func TestChangePasswordGuessesAreLimited(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "old password")
	sess, _ := s.SignIn(actx, "ann@example.org", "old password", "", "")
	for i := range signInPerAddress {
		if _, err := s.ChangePassword(actx, sess.Actor, "guess", "new password", "", ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	if _, err := s.ChangePassword(actx, sess.Actor, "old password", "new password", "", ""); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("after %d wrong current passwords: %v, want ErrRateLimited", signInPerAddress, err)
	}
}

func TestSignInRateLimitedPerIP(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	for i := range signInPerIP {
		// A different address each time: only the IP limit can stop this.
		email := "x" + strings.Repeat("y", i) + "@example.org"
		if _, err := s.SignIn(actx, email, "guess", "198.51.100.1", ""); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := s.SignIn(actx, "ann@example.org", "correct horse", "198.51.100.1", "")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("after %d failures from one IP: %v", signInPerIP, err)
	}
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "198.51.100.2", ""); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	// IPv6: one client's /64 is one key.
	for i := range signInPerIP {
		email := "v" + strings.Repeat("6", i) + "@example.org"
		s.SignIn(actx, email, "guess", "2001:db8:1:2::"+strconv.FormatInt(int64(i+1), 16), "")
	}
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "2001:db8:1:2:ffff::1", ""); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("another address of the same /64: %v", err)
	}
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "2001:db8:1:3::1", ""); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	s, c, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	sess, err := s.SignIn(actx, "ann@example.org", "correct horse", "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Used every 11 h: the idle expiry keeps moving.
	for i := range 3 {
		c.add(auth.DefaultIdle - time.Hour)
		if _, err := s.SessionActor(actx, sess.ID, ""); err != nil {
			t.Fatalf("use %d, 11 h after the last: %v", i, err)
		}
	}
	c.add(auth.DefaultIdle)
	if _, err := s.SessionActor(actx, sess.ID, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("12 h idle: %v, want ErrUnauthenticated", err)
	}
	var n int
	s.d.R.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d expired sessions left in the table", n)
	}
}

func TestSessionAbsoluteExpiry(t *testing.T) {
	s, c, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	sess, err := s.SignIn(actx, "ann@example.org", "correct horse", "", "")
	if err != nil {
		t.Fatal(err)
	}
	start := c.t
	for c.t.Sub(start) < auth.DefaultAbsolute-2*time.Hour {
		c.add(time.Hour)
		if _, err := s.SessionActor(actx, sess.ID, ""); err != nil {
			t.Fatalf("at %s of use: %v", c.t.Sub(start), err)
		}
	}
	c.add(2 * time.Hour) // busy all along, but 7 days since sign-in
	if _, err := s.SessionActor(actx, sess.ID, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after %s: %v, want ErrUnauthenticated", c.t.Sub(start), err)
	}
}

func TestSessionNotRenewedOnEveryRequest(t *testing.T) {
	s, c, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	sess, _ := s.SignIn(actx, "ann@example.org", "correct horse", "", "")
	seen := func() int64 {
		var v int64
		s.d.R.QueryRow(`SELECT seen_at FROM sessions`).Scan(&v)
		return v
	}
	first := seen()
	c.add(30 * time.Second)
	s.SessionActor(actx, sess.ID, "")
	if seen() != first {
		t.Fatal("seen_at written twice within a minute")
	}
	c.add(31 * time.Second)
	s.SessionActor(actx, sess.ID, "")
	if seen() != db.Unix(c.t) {
		t.Fatal("seen_at not renewed after a minute")
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "old password")
	s1, _ := s.SignIn(actx, "ann@example.org", "old password", "", "laptop")
	s2, _ := s.SignIn(actx, "ann@example.org", "old password", "", "phone")

	if _, err := s.ChangePassword(actx, s1.Actor, "not the old one", "new password", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong old password: %v", err)
	}
	if _, err := s.ChangePassword(actx, s1.Actor, "old password", "short", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short new password: %v", err)
	}
	if _, err := s.SessionActor(actx, s2.ID, ""); err != nil {
		t.Fatalf("a refused change ended sessions: %v", err)
	}
	fresh, err := s.ChangePassword(actx, s1.Actor, "old password", "new password", "", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"this": s1.ID, "other": s2.ID} {
		if _, err := s.SessionActor(actx, id, ""); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s session survived the password change: %v", name, err)
		}
	}
	if _, err := s.SessionActor(actx, fresh.ID, ""); err != nil {
		t.Fatalf("fresh session: %v", err)
	}
	if _, err := s.SignIn(actx, "ann@example.org", "old password", "", ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := s.SignIn(actx, "ann@example.org", "new password", "", ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, err := s.ChangePassword(actx, CLI(), "x", "new password 2", "", ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the CLI changed a password: %v", err)
	}
}

func TestSignInRehashesWhenParametersRaised(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "correct horse")
	hash := func() string {
		var h string
		s.d.R.QueryRow(`SELECT password FROM users`).Scan(&h)
		return h
	}
	before := hash()
	s.AuthStore().Params = auth.Params{Memory: 128, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "", ""); err != nil {
		t.Fatal(err)
	}
	after := hash()
	if after == before || !strings.Contains(after, "$m=128,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %s → %s", before, after)
	}
	if _, err := s.SignIn(actx, "ann@example.org", "correct horse", "", ""); err != nil {
		t.Fatalf("sign-in with the upgraded hash: %v", err)
	}
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

func TestTokenStoredOnlyAsHash(t *testing.T) {
	s, c, lists := newAcctService(t)
	tok, secret, err := s.AddToken(actx, CLI(), "ci", tidings.RoleEditor, []string{"beta"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "tdg_") || len(secret) != 4+43 {
		t.Fatalf("secret %q: want tdg_ + 43 base64url characters", secret)
	}
	if tok.Name != "ci" || tok.Role != tidings.RoleEditor || tok.AllLists || len(tok.Lists) != 1 || tok.Lists[0] != "beta" {
		t.Fatalf("token %+v", tok)
	}
	raw := acctDBBytes(t, s)
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(raw, []byte(strings.TrimPrefix(secret, "tdg_"))) {
		t.Fatal("the token's secret is in the database file")
	}
	if !bytes.Contains(raw, auth.HashSecret(secret)) {
		t.Fatal("the token's hash is not in the database file (is the test looking in the right place?)")
	}

	a, err := s.TokenActor(actx, secret, "192.0.2.5")
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != tidings.ActorToken || a.Name != "ci" || a.Role != tidings.RoleEditor || a.AllLists ||
		len(a.Lists) != 1 || a.Lists[0] != lists["beta"] || a.IP != "192.0.2.5" {
		t.Fatalf("token actor %+v", a)
	}
	lastUsed := func() time.Time {
		ts, err := s.Tokens(actx, CLI())
		if err != nil || len(ts) != 1 {
			t.Fatalf("tokens: %+v %v", ts, err)
		}
		return ts[0].LastUsed
	}
	if !lastUsed().Equal(c.t) {
		t.Fatalf("last used %s, want %s", lastUsed(), c.t)
	}
	first := c.t
	c.add(40 * time.Second)
	s.TokenActor(actx, secret, "")
	if !lastUsed().Equal(first) {
		t.Fatal("last_used written again within a minute")
	}
	c.add(30 * time.Second)
	s.TokenActor(actx, secret, "")
	if !lastUsed().Equal(c.t) {
		t.Fatalf("last_used %s not updated after a minute (now %s)", lastUsed(), c.t)
	}

	for _, bad := range []string{"", "tdg_", secret + "x", strings.TrimPrefix(secret, "tdg_"), "Bearer " + secret} {
		if _, err := s.TokenActor(actx, bad, ""); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("bearer %q: %v, want ErrUnauthenticated", bad, err)
		}
	}
	if err := s.RemoveToken(actx, CLI(), "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenActor(actx, secret, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := s.RemoveToken(actx, CLI(), "ci"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing it twice: %v", err)
	}
}

func TestTokenBadInput(t *testing.T) {
	s, _, _ := newAcctService(t)
	if _, _, err := s.AddToken(actx, CLI(), "ci", tidings.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, role string
		lists      []string
		want       error
		field      string
	}{
		{"ci", "admin", nil, ErrConflict, ""},
		{"", "admin", nil, ErrInvalid, "name"},
		{"has space", "admin", nil, ErrInvalid, "name"},
		{strings.Repeat("x", 65), "admin", nil, ErrInvalid, "name"},
		{"x", "owner", nil, ErrInvalid, "role"},
		{"x", "editor", []string{"alpha", "nope"}, ErrInvalid, "lists"},
	} {
		_, _, err := s.AddToken(actx, CLI(), tc.name, tidings.Role(tc.role), tc.lists)
		if !errors.Is(err, tc.want) {
			t.Errorf("token %q role %q lists %v: %v, want %v", tc.name, tc.role, tc.lists, err, tc.want)
			continue
		}
		var fe *FieldError
		if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
			t.Errorf("token %q: %v, want field %s", tc.name, err, tc.field)
		}
	}
	ts, _ := s.Tokens(actx, CLI())
	if len(ts) != 1 {
		t.Fatalf("bad input stored tokens: %+v", ts)
	}
}

func TestSignInLinkGetDoesNotConsumePostDoes(t *testing.T) {
	s, _, _ := newAcctService(t)
	u, link, err := s.AddUser(actx, CLI(), NewUser{Email: "new@example.org", Role: tidings.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "new@example.org" || !strings.HasPrefix(link, "https://admin.example.org/admin/link/") {
		t.Fatalf("user %+v link %q", u, link)
	}
	value := strings.TrimPrefix(link, "https://admin.example.org/admin/link/")
	if bytes.Contains(acctDBBytes(t, s), []byte(value)) {
		t.Fatal("the link's value is in the database file")
	}
	for range 2 { // a mail scanner, then the person
		email, err := s.SignInLink(actx, value)
		if err != nil || email != "new@example.org" {
			t.Fatalf("GET: %q %v", email, err)
		}
	}
	if _, err := s.UseSignInLink(actx, value, "short", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short password: %v", err)
	}
	sess, err := s.UseSignInLink(actx, link, "a good password", "192.0.2.3", "") // the whole URL works too
	if err != nil {
		t.Fatalf("POST after a refused try: %v", err)
	}
	if sess.Actor.Name != "new@example.org" {
		t.Fatalf("actor %+v", sess.Actor)
	}
	if _, err := s.UseSignInLink(actx, value, "another password", "", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second use: %v, want ErrNotFound", err)
	}
	if _, err := s.SignInLink(actx, value); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GET after use: %v", err)
	}
	if _, err := s.SignIn(actx, "new@example.org", "a good password", "", ""); err != nil {
		t.Fatalf("sign in with the password set by link: %v", err)
	}
	if _, err := s.SignIn(actx, "new@example.org", "another password", "", ""); err == nil {
		t.Fatal("the refused second use changed the password")
	}
}

func TestSignInLinkExpiresAfter24h(t *testing.T) {
	s, c, _ := newAcctService(t)
	_, link, err := s.AddUser(actx, CLI(), NewUser{Email: "new@example.org", Role: tidings.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	c.add(24*time.Hour - time.Minute)
	if _, err := s.SignInLink(actx, link); err != nil {
		t.Fatalf("23:59 later: %v", err)
	}
	c.add(time.Minute)
	if _, err := s.SignInLink(actx, link); !errors.Is(err, ErrNotFound) {
		t.Fatalf("24 h later GET: %v", err)
	}
	if _, err := s.UseSignInLink(actx, link, "a good password", "", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("24 h later POST: %v", err)
	}
	if _, err := s.SignInLink(actx, "not-a-link"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("made-up link: %v", err)
	}
}

func TestAdminOpsRefuseEditorsAndLimitedAdmins(t *testing.T) {
	s, _, lists := newAcctService(t)
	acctAddUser(t, s, "victim@example.org", tidings.RoleEditor, "password 1")
	if _, _, err := s.AddToken(actx, CLI(), "victim", tidings.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	actors := map[string]tidings.Actor{
		"editor of every list": {Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, AllLists: true},
		"editor of alpha":      {Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, Lists: []int64{lists["alpha"]}},
		"admin of alpha only":  {Kind: tidings.ActorUser, Name: "ad@example.org", Role: tidings.RoleAdmin, Lists: []int64{lists["alpha"]}},
		"editor token":         {Kind: tidings.ActorToken, Name: "t", Role: tidings.RoleEditor, AllLists: true},
		"no role (zero actor)": {},
		"admin of no list":     {Kind: tidings.ActorToken, Name: "t", Role: tidings.RoleAdmin, Lists: []int64{}},
	}
	for name, a := range actors {
		calls := map[string]func() error{
			"Users": func() error { _, err := s.Users(actx, a); return err },
			"AddUser": func() error {
				_, _, err := s.AddUser(actx, a, NewUser{Email: "x@example.org", Role: "admin"})
				return err
			},
			"RemoveUser":  func() error { return s.RemoveUser(actx, a, "victim@example.org") },
			"Tokens":      func() error { _, err := s.Tokens(actx, a); return err },
			"AddToken":    func() error { _, _, err := s.AddToken(actx, a, "x", "admin", nil); return err },
			"RemoveToken": func() error { return s.RemoveToken(actx, a, "victim") },
			"Audit":       func() error { _, _, err := s.Audit(actx, a, "", "", 0); return err },
			"Audit beta":  func() error { _, _, err := s.Audit(actx, a, "beta", "", 0); return err },
		}
		for op, call := range calls {
			if err := call(); !errors.Is(err, ErrForbidden) {
				t.Errorf("%s: %s: %v, want ErrForbidden", name, op, err)
			}
		}
	}
	users, _ := s.Users(actx, CLI())
	tokens, _ := s.Tokens(actx, CLI())
	if len(users) != 1 || len(tokens) != 1 {
		t.Fatalf("refused calls changed something: %d users, %d tokens", len(users), len(tokens))
	}
	// The admin of alpha may read alpha's audit log, not beta's.
	limited := actors["admin of alpha only"]
	if _, _, err := s.Audit(actx, limited, "alpha", "", 0); err != nil {
		t.Fatalf("limited admin, own list's audit: %v", err)
	}
}

func TestAddUserBadInput(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "")
	for _, tc := range []struct {
		u     NewUser
		want  error
		field string
	}{
		{NewUser{Email: "ANN@example.org", Role: "admin"}, ErrConflict, ""},
		{NewUser{Email: "not an address", Role: "admin"}, ErrInvalid, "email"},
		{NewUser{Email: "b@example.org", Role: "root"}, ErrInvalid, "role"},
		{NewUser{Email: "b@example.org", Role: "editor", Lists: []string{"nope"}}, ErrInvalid, "lists"},
		{NewUser{Email: "b@example.org", Role: "editor", Password: "short"}, ErrInvalid, "password"},
		{NewUser{Email: "b@example.org", Role: "editor", Password: strings.Repeat("x", 1025)}, ErrInvalid, "password"},
	} {
		_, link, err := s.AddUser(actx, CLI(), tc.u)
		if !errors.Is(err, tc.want) || link != "" {
			t.Errorf("%+v: %v (link %q), want %v", tc.u, err, link, tc.want)
			continue
		}
		var fe *FieldError
		if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
			t.Errorf("%+v: %v, want field %s", tc.u, err, tc.field)
		}
	}
	if err := s.RemoveUser(actx, CLI(), "nobody@example.org"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown user: %v", err)
	}
	users, _ := s.Users(actx, CLI())
	if len(users) != 1 {
		t.Fatalf("bad input stored users: %+v", users)
	}
	var links int
	s.d.R.QueryRow(`SELECT count(*) FROM signin_links`).Scan(&links)
	if links != 1 {
		t.Fatalf("%d sign-in links stored, want only ann's", links)
	}
}

func TestUsersListsAndRemoval(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "zed@example.org", tidings.RoleAdmin, "password 1")
	acctAddUser(t, s, "amy@example.org", tidings.RoleEditor, "password 2", "beta", "alpha", "beta")
	users, err := s.Users(actx, CLI())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Email != "amy@example.org" || users[0].AllLists ||
		strings.Join(users[0].Lists, ",") != "alpha,beta" || !users[1].AllLists || users[1].Lists != nil {
		t.Fatalf("users %+v", users)
	}
	sess, _ := s.SignIn(actx, "amy@example.org", "password 2", "", "")
	if err := s.RemoveUser(actx, CLI(), "AMY@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionActor(actx, sess.ID, ""); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a removed user's session still works: %v", err)
	}
}

func TestSetLanguage(t *testing.T) {
	s, _, _ := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleEditor, "password 1")
	sess, _ := s.SignIn(actx, "ann@example.org", "password 1", "", "")
	if err := s.SetLanguage(actx, sess.Actor, "zh-CN"); err != nil {
		t.Fatal(err)
	}
	a, _ := s.SessionActor(actx, sess.ID, "")
	if a.Lang != tidings.LangZH {
		t.Fatalf("lang %q", a.Lang)
	}
	if err := s.SetLanguage(actx, sess.Actor, "klingon"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad language: %v", err)
	}
	if err := s.SetLanguage(actx, sess.Actor, ""); err != nil {
		t.Fatal(err)
	}
	if a, _ = s.SessionActor(actx, sess.ID, ""); a.Lang != "" {
		t.Fatalf("lang after reset %q", a.Lang)
	}
	if err := s.SetLanguage(actx, CLI(), "en"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("CLI language: %v", err)
	}
}

func TestAuditRecordsAccountChangesNewestFirstByKeyset(t *testing.T) {
	s, c, lists := newAcctService(t)
	cli := CLI()
	acctAddUser(t, s, "ann@example.org", tidings.RoleAdmin, "password 1")
	c.add(time.Second)
	s.AddToken(actx, cli, "ci", tidings.RoleEditor, []string{"alpha"})
	c.add(time.Second)
	s.RemoveToken(actx, cli, "ci")
	c.add(time.Second)
	s.SignIn(actx, "ann@example.org", "password 1", "192.0.2.8", "")
	s.SignIn(actx, "ann@example.org", "wrong", "192.0.2.8", "") // not a change: not recorded
	c.add(time.Second)
	s.RemoveUser(actx, cli, "ann@example.org")
	// A change on a list, as other operations record them.
	if err := s.audit(actx, cli, auditEntry{Action: "issue.import", ObjectKind: "issue", ObjectID: "7", ListID: lists["beta"]}); err != nil {
		t.Fatal(err)
	}

	var all []AuditEntry
	cursor, pages := "", 0
	for {
		page, next, err := s.Audit(actx, cli, "", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		pages++
		if next == "" {
			break
		}
		cursor = next
	}
	var got []string
	for i, e := range all {
		got = append(got, e.Action+" "+e.ObjectID)
		if i > 0 && e.ID >= all[i-1].ID {
			t.Fatalf("not newest first: %+v", all)
		}
	}
	want := []string{"issue.import 7", "user.rm ann@example.org", "user.signin ann@example.org", "token.rm ci", "token.add ci", "user.add ann@example.org"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit\n got %q\nwant %q", got, want)
	}
	if pages != 3 {
		t.Fatalf("%d pages of 2 for 6 entries", pages)
	}
	signin := all[2]
	if signin.ActorKind != "user" || signin.Actor != "ann@example.org" || signin.IP != "192.0.2.8" {
		t.Fatalf("sign-in entry %+v", signin)
	}
	add := all[4]
	if add.ActorKind != "cli" || add.Actor != cli.Name || !strings.Contains(add.Detail, `"lists":["alpha"]`) || !add.At.Equal(c.t.Add(-3*time.Second)) {
		t.Fatalf("token.add entry %+v", add)
	}

	beta, next, err := s.Audit(actx, cli, "beta", "", 0)
	if err != nil || len(beta) != 1 || beta[0].ListSlug != "beta" || next != "" {
		t.Fatalf("beta's audit: %+v %q %v", beta, next, err)
	}
	for _, bad := range []struct {
		list, cursor string
		limit        int
		field        string
	}{{"nope", "", 0, "list"}, {"", "abc", 0, "cursor"}, {"", "-4", 0, "cursor"}, {"", "", -1, "limit"}, {"", "", MaxAuditLimit + 1, "limit"}} {
		_, _, err := s.Audit(actx, cli, bad.list, bad.cursor, bad.limit)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != bad.field {
			t.Errorf("audit %+v: %v, want bad %s", bad, err, bad.field)
		}
	}
}

func TestSetUserAccessTakesEffectAtTheNextRequest(t *testing.T) {
	s, _, lists := newAcctService(t)
	acctAddUser(t, s, "ann@example.org", tidings.RoleEditor, "password 1", "alpha")
	sess, _ := s.SignIn(actx, "ann@example.org", "password 1", "", "")
	u, err := s.SetUserAccess(actx, CLI(), "Ann@example.org", tidings.RoleAdmin, []string{"beta"})
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != tidings.RoleAdmin || u.AllLists || strings.Join(u.Lists, ",") != "beta" {
		t.Fatalf("user %+v", u)
	}
	a, err := s.SessionActor(actx, sess.ID, "")
	if err != nil || a.Role != tidings.RoleAdmin || a.MayList(lists["alpha"]) || !a.MayList(lists["beta"]) {
		t.Fatalf("actor after the change: %+v %v", a, err)
	}
	if u, err = s.SetUserAccess(actx, CLI(), "ann@example.org", tidings.RoleEditor, nil); err != nil || !u.AllLists {
		t.Fatalf("every list: %+v %v", u, err)
	}
	for _, tc := range []struct {
		a     tidings.Actor
		email string
		role  tidings.Role
		lists []string
		want  error
	}{
		{CLI(), "nobody@example.org", "editor", nil, ErrNotFound},
		{CLI(), "ann@example.org", "chief", nil, ErrInvalid},
		{CLI(), "ann@example.org", "editor", []string{"gamma"}, ErrInvalid},
		{a, "ann@example.org", "admin", nil, ErrForbidden}, // an admin of beta only
	} {
		if _, err := s.SetUserAccess(actx, tc.a, tc.email, tc.role, tc.lists); !errors.Is(err, tc.want) {
			t.Errorf("%s %s %v by %s: %v, want %v", tc.email, tc.role, tc.lists, tc.a, err, tc.want)
		}
	}
	users, _ := s.Users(actx, CLI())
	if len(users) != 1 || users[0].Role != tidings.RoleEditor || !users[0].AllLists {
		t.Fatalf("refused changes changed %+v", users)
	}
}

func TestNewSignInLinkReplacesTheOldOne(t *testing.T) {
	s, _, _ := newAcctService(t)
	_, first, err := s.AddUser(actx, CLI(), NewUser{Email: "ann@example.org", Role: tidings.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.NewSignInLink(actx, CLI(), "ann@example.org")
	if err != nil || second == first || !strings.HasPrefix(second, "https://admin.example.org/admin/link/") {
		t.Fatalf("new link %q (first %q): %v", second, first, err)
	}
	if _, err := s.SignInLink(actx, first); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the first link still works: %v", err)
	}
	if _, err := s.UseSignInLink(actx, second, "password 1", "", ""); err != nil {
		t.Fatal(err)
	}
	third, _ := s.NewSignInLink(actx, CLI(), "ann@example.org")
	if _, err := s.SignIn(actx, "ann@example.org", "password 1", "", ""); err != nil {
		t.Fatalf("a new link ended the current password: %v", err)
	}
	if _, err := s.SignInLink(actx, third); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewSignInLink(actx, CLI(), "nobody@example.org"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	editor := tidings.Actor{Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, AllLists: true}
	if _, err := s.NewSignInLink(actx, editor, "ann@example.org"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an editor made a link: %v", err)
	}
}
