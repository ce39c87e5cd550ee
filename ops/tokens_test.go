package ops

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
)

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
