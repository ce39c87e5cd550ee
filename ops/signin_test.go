package ops

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/db"
)

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
