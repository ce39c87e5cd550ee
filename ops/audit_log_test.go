package ops

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

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
