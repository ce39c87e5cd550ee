package ops

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// seedBounces records bounces on both lists: keji gets hard, soft and
// complaint rows, several in the same second, other gets two.
func seedBounces(t *testing.T, e *peopleEnv) {
	t.Helper()
	ann := e.sub(t, e.keji, "ann@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	bo := e.sub(t, e.other, "bo@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	if _, err := e.d.W.Exec("INSERT INTO issues (id, list_id, number, title, created_at) VALUES (5, ?, 1, 'x', 0)", e.keji.ID); err != nil {
		t.Fatal(err)
	}
	base := db.Unix(e.clock)
	kinds := []string{"hard", "soft", "complaint"}
	for i := range 9 {
		var issue any
		if i%2 == 0 {
			issue = 5
		}
		// Pairs share a second, so the keyset needs the id too.
		if _, err := e.d.W.Exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, source, at) VALUES (?, ?, ?, ?, '5.1.1', ?, 'dsn', ?)`,
			ann.ID, e.keji.ID, issue, kinds[i%3], fmt.Sprintf("k%d", i), base+int64(i/2)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 {
		if _, err := e.d.W.Exec(`INSERT INTO bounces (subscriber_id, list_id, kind, diagnostic, at) VALUES (?, ?, 'hard', ?, ?)`,
			bo.ID, e.other.ID, fmt.Sprintf("o%d", i), base+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// allBounces pages through Bounces and returns the diagnostics in order.
func allBounces(t *testing.T, e *peopleEnv, a tidings.Actor, list, kind string, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 100 {
		bs, next, err := e.s.Bounces(e.ctx, a, list, kind, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) > limit {
			t.Fatalf("%d rows on a page of %d", len(bs), limit)
		}
		for _, b := range bs {
			out = append(out, b.Diagnostic)
		}
		if next == "" {
			return out
		}
		cursor = next
	}
	t.Fatal("pages never end")
	return nil
}

func TestBouncesNewestFirstByKeyset(t *testing.T) {
	e := newPeopleEnv(t)
	seedBounces(t, e)
	for _, tc := range []struct {
		name       string
		actor      tidings.Actor
		list, kind string
		want       string
	}{
		{"one list", e.editor, "keji", "", "k8 k7 k6 k5 k4 k3 k2 k1 k0"},
		{"one kind", e.editor, "keji", "soft", "k7 k4 k1"},
		{"every list of an admin", e.admin, "", "hard", "k6 o1 k3 o0 k0"},
		{"every list of an editor", e.editor, "", "hard", "k6 k3 k0"},
		{"the other list's editor", e.stranger, "", "", "o1 o0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 50} {
				if got := strings.Join(allBounces(t, e, tc.actor, tc.list, tc.kind, limit), " "); got != tc.want {
					t.Errorf("limit %d: %s, want %s", limit, got, tc.want)
				}
			}
		})
	}
	bs, _, err := e.s.Bounces(e.ctx, e.admin, "keji", "", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if b := bs[0]; b.Email != "ann@example.org" || b.ListSlug != "keji" || b.IssueID != 5 || b.Kind != "complaint" || b.Code != "5.1.1" || b.Source != "dsn" {
		t.Errorf("bounce = %+v", b)
	}
	if bs, _, _ := e.s.Bounces(e.ctx, e.admin, "keji", "", "", 2); bs[1].IssueID != 0 {
		t.Errorf("a bounce without an issue has issue %d", bs[1].IssueID)
	}
}

func TestBouncesBadInputAndRoles(t *testing.T) {
	e := newPeopleEnv(t)
	seedBounces(t, e)
	_, _, err := e.s.Bounces(e.ctx, e.stranger, "keji", "", "", 10)
	wantErr(t, err, ErrForbidden)
	_, _, err = e.s.Bounces(e.ctx, e.admin, "keji", "spam", "", 10)
	wantField(t, err, "kind")
	_, _, err = e.s.Bounces(e.ctx, e.admin, "keji", "", "bogus", 10)
	wantField(t, err, "cursor")
	_, _, err = e.s.Bounces(e.ctx, e.admin, "keji", "", "", -1)
	wantField(t, err, "limit")
	_, _, err = e.s.Bounces(e.ctx, e.admin, "nope", "", "", 10)
	wantErr(t, err, ErrNotFound)
	none := tidings.Actor{Kind: tidings.ActorToken, Name: "t", Role: tidings.RoleEditor}
	if bs, next, err := e.s.Bounces(e.ctx, none, "", "", "", 10); err != nil || len(bs) != 0 || next != "" {
		t.Errorf("an actor of no list: %v %q %v", bs, next, err)
	}
}
