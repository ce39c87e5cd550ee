package ops

import (
	"testing"

	"github.com/tidings/tidings"
)

// Every API request resolves its bearer token and every console request
// its session: these are the per-request costs of authentication.

func BenchmarkTokenActor(b *testing.B) {
	s, _, _ := newAcctServiceTB(b)
	_, secret, err := s.AddToken(actx, CLI(), "bench", tidings.RoleEditor, []string{"alpha", "beta"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.TokenActor(actx, secret, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionActor(b *testing.B) {
	s, _, _ := newAcctServiceTB(b)
	if _, _, err := s.AddUser(actx, CLI(), NewUser{Email: "ann@example.org", Role: tidings.RoleEditor, Password: "correct horse", Lists: []string{"alpha"}}); err != nil {
		b.Fatal(err)
	}
	sess, err := s.SignIn(actx, "ann@example.org", "correct horse", "", "")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.SessionActor(actx, sess.ID, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}
