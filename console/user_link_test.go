package console_test

import (
	"errors"
	"html"
	"net/http"
	"regexp"
	"testing"

	"github.com/tidings/tidings/ops"
)

// TestAdminMakesANewSignInLink: for a person who lost their password, an
// admin makes a fresh one-time link on the users page (as `tidings user
// link`); it is shown once, works, and the earlier one stops working.
// Editors may not.
func TestAdminMakesANewSignInLink(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.browser()
	admin.signIn(adminEmail)
	linkRE := regexp.MustCompile(`<code class="secret" id="new-link">([^<]+)</code>`)
	var links []string
	for range 2 {
		a := admin.post("/admin/users/"+editorEmail+"/link", nil)
		m := linkRE.FindStringSubmatch(a.body)
		if a.status != http.StatusCreated || m == nil {
			t.Fatalf("new link: %d, link shown: %v", a.status, m != nil)
		}
		links = append(links, html.UnescapeString(m[1]))
	}
	if who, err := e.svc.SignInLink(bg, links[1]); err != nil || who != editorEmail {
		t.Errorf("the new link is for %q (%v)", who, err)
	}
	if _, err := e.svc.SignInLink(bg, links[0]); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("the earlier link still works: %v", err)
	}
	if a := admin.post("/admin/users/nobody@example.org/link", nil); a.status != http.StatusNotFound {
		t.Errorf("link for an unknown account: %d, want 404", a.status)
	}
	if a := admin.get("/admin/users"); !regexp.MustCompile(`action="/admin/users/` + regexp.QuoteMeta(editorEmail) + `/link"`).MatchString(a.body) {
		t.Error("the users page offers no new link")
	}
	ed := e.browser()
	ed.signIn(editorEmail)
	if a := ed.post("/admin/users/"+otherEmail+"/link", nil); a.status != http.StatusForbidden {
		t.Errorf("editor makes a link: %d, want 403", a.status)
	}
}
