package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings/ops"
)

// TestAdminChangesAUsersRoleAndLists: on the users page an admin changes
// another account's role and lists (as `tidings user set`); the person's
// next request has them. Bad input comes back on the page; editors may
// not; an admin is offered no form for their own account.
func TestAdminChangesAUsersRoleAndLists(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin, ed := e.browser(), e.browser()
	admin.signIn(adminEmail)
	ed.signIn(editorEmail)
	if a := ed.get("/admin/users"); a.status != http.StatusForbidden {
		t.Fatalf("editor on the users page: %d", a.status)
	}
	page := admin.get("/admin/users")
	if !strings.Contains(page.body, `action="/admin/users/`+editorEmail+`/access"`) || strings.Contains(page.body, `action="/admin/users/`+adminEmail+`/access"`) {
		t.Error("the users page should offer the change for others, not for oneself")
	}
	set := url.Values{"name": {editorEmail}, "role": {"admin"}, "lists": {"keji", "beta"}}
	if a := admin.post("/admin/users/"+editorEmail+"/access", set); a.status != http.StatusSeeOther {
		t.Fatalf("change: %d %s", a.status, a.body)
	}
	us, err := e.svc.Users(bg, ops.CLI())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(us, func(u ops.User) bool { return u.Email == editorEmail })
	if i < 0 || us[i].Role != "admin" || us[i].AllLists || strings.Join(us[i].Lists, ",") != "beta,keji" && strings.Join(us[i].Lists, ",") != "keji,beta" {
		t.Fatalf("after the change: %+v", us[i])
	}
	// The limited admin's next request: list settings of both its lists.
	for _, p := range []string{"/admin/lists/keji/settings", "/admin/lists/beta/settings"} {
		if a := ed.get(p); a.status != http.StatusOK {
			t.Errorf("%s as the new admin: %d", p, a.status)
		}
	}
	for _, bad := range []url.Values{
		{"name": {editorEmail}, "role": {"boss"}},
		{"name": {editorEmail}, "role": {"editor"}, "lists": {"nope"}},
	} {
		if a := admin.post("/admin/users/"+editorEmail+"/access", bad); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `role="alert"`) {
			t.Errorf("%v: %d", bad, a.status)
		}
	}
	if a := ed.post("/admin/users/"+otherEmail+"/access", url.Values{"name": {otherEmail}, "role": {"admin"}}); a.status != http.StatusForbidden {
		t.Errorf("a limited admin changes an account: %d, want 403", a.status)
	}
	if a := admin.post("/admin/users/nobody@example.org/access", url.Values{"name": {"nobody@example.org"}, "role": {"editor"}}); a.status != http.StatusNotFound {
		t.Errorf("unknown account: %d, want 404", a.status)
	}
	es, _, err := e.svc.Audit(bg, ops.CLI(), "", "", 1)
	if err != nil || len(es) != 1 || es[0].Action != "user.set" || es[0].Actor != adminEmail {
		t.Errorf("last audit entry %+v (%v), want the admin's user.set", es, err)
	}
}
