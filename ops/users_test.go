package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

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
