package console_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings/console"
	"github.com/tidings/tidings/ops"
)

// Guessing passwords ends in 429 with Retry-After and a message saying
// so, before the right password is tried.
func TestSignInBruteForceIsLimited(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	var last answer
	for i := 0; i < 50; i++ {
		last = b.post("/admin/signin", url.Values{"email": {editorEmail}, "password": {fmt.Sprintf("guess-%d", i)}})
		if last.status == http.StatusTooManyRequests {
			break
		}
		if last.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401 until limited", i, last.status)
		}
		if !strings.Contains(last.body, "The address or the password is wrong.") {
			t.Fatalf("attempt %d: no wrong-password message", i)
		}
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("50 wrong passwords and still %d", last.status)
	}
	if s, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", last.header.Get("Retry-After"))
	}
	if !strings.Contains(last.body, "Too many attempts") {
		t.Errorf("429 page does not say so:\n%s", last.body)
	}
	// Even the right password waits now.
	a := b.post("/admin/signin", url.Values{"email": {editorEmail}, "password": {password}})
	if a.status != http.StatusTooManyRequests || b.session() != "" {
		t.Errorf("right password while limited: %d, session %q", a.status, b.session())
	}
}

// Unknown accounts and wrong passwords get the same answer.
func TestSignInSameAnswerForUnknownAccount(t *testing.T) {
	e := newEnv(t, envOpts{})
	wrong := e.browser().post("/admin/signin", url.Values{"email": {editorEmail}, "password": {"nope-nope-nope"}})
	unknown := e.browser().post("/admin/signin", url.Values{"email": {"nobody@example.org"}, "password": {"nope-nope-nope"}})
	if wrong.status != unknown.status || wrong.status != http.StatusUnauthorized {
		t.Fatalf("wrong password %d, unknown account %d", wrong.status, unknown.status)
	}
	strip := func(s string) string { return strings.ReplaceAll(s, "nobody@example.org", editorEmail) }
	if strip(unknown.body) != wrong.body {
		t.Error("the pages differ beyond the address typed")
	}
}

// Bad input on the sign-in form: one clear message, 422, no session.
func TestSignInBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	for _, f := range []url.Values{
		{"email": {"not-an-address"}, "password": {"x"}},
		{"email": {editorEmail}, "password": {""}},
		{},
	} {
		b := e.browser()
		a := b.post("/admin/signin", f)
		if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `role="alert"`) || b.session() != "" {
			t.Errorf("%v: %d, session %q", f, a.status, b.session())
		}
	}
}

// A session id planted in the browser before sign-in (session fixation)
// is never the one signed in: sign-in makes a new id.
func TestSessionIDChangesAtSignIn(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	u, _ := url.Parse(e.ts.URL + "/admin/")
	const planted = "attacker-chosen-session-id-0123456789"
	b.jar.SetCookies(u, []*http.Cookie{{Name: "tidings_session", Value: planted, Path: "/admin/"}})
	b.signIn(editorEmail)
	first := b.session()
	if first == "" || first == planted {
		t.Fatalf("session after sign-in %q (planted %q)", first, planted)
	}
	// The planted id opens nothing.
	c := e.browser()
	c.jar.SetCookies(u, []*http.Cookie{{Name: "tidings_session", Value: planted, Path: "/admin/"}})
	if a := c.get("/admin/"); a.status != http.StatusSeeOther || !strings.HasPrefix(a.header.Get("Location"), "/admin/signin") {
		t.Errorf("planted id: %d %s", a.status, a.header.Get("Location"))
	}
	// Signing in again, from the same browser, makes yet another id.
	b.signIn(editorEmail)
	if s := b.session(); s == first || s == "" {
		t.Errorf("second sign-in kept the id %q", s)
	}
	// The cookie's attributes.
	a := e.browser().post("/admin/signin", url.Values{"email": {editorEmail}, "password": {password}})
	sc := a.header.Get("Set-Cookie")
	for _, want := range []string{"tidings_session=", "Path=/admin/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
}

// A cross-site POST carrying a valid session cookie is refused and
// changes nothing; the same POST from the console itself works.
func TestCrossSitePostIsRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	path := fmt.Sprintf("/admin/issues/%d/articles/2", is.ID)
	form := url.Values{"orig_title": {"x"}, "title": {"x"}, "orig_topics": {"biomed"}, "topics": {"eldercare"}}
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		a := b.post(path, form, hdr...)
		if a.status != http.StatusForbidden {
			t.Errorf("%v: status %d, want 403", hdr, a.status)
		}
	}
	d, err := e.svc.Issue(bg, ops.CLI(), is.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Issue.Articles[1]; got.Title == "x" || strings.Join(got.Topics, ",") != "biomed" {
		t.Fatalf("a refused request changed the article: %+v", got)
	}
	// Sign-out, the language switch and sign-in are forms too.
	for _, p := range []string{"/admin/signout", "/admin/lang", "/admin/signin"} {
		if a := b.post(p, url.Values{"lang": {"zh"}}, "Sec-Fetch-Site", "cross-site"); a.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: %d", p, a.status)
		}
	}
	if a := b.get("/admin/"); a.status != http.StatusOK {
		t.Fatalf("session ended by a refused sign-out: %d", a.status)
	}
	if a := b.post(path, url.Values{"orig_title": {"x"}, "title": {"x"}, "orig_topics": {"biomed"}, "topics": {"biomed"}}); a.status != http.StatusSeeOther {
		t.Errorf("same-origin POST: %d %s", a.status, a.body)
	}
}

// An editor of one list cannot reach another list's issue pages by
// guessing ids: 403 on every page and action, and nothing changes.
func TestEditorCannotReachOtherListsIssues(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(otherEmail)
	id := strconv.FormatInt(is.ID, 10)
	for _, p := range []string{"", "/preview", "/preview/frame", "/preview?email=all@readers.example", "/audience.json", "/send", "/progress", "/progress.json"} {
		if a := b.get("/admin/issues/" + id + p); a.status != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", p, a.status)
		}
	}
	for _, p := range []string{"/articles/1", "/retag", "/test", "/schedule", "/send", "/pause", "/resume", "/cancel"} {
		a := b.post("/admin/issues/"+id+p, url.Values{"title": {"owned"}, "orig_title": {"x"}, "topics": {"biomed"},
			"to": {otherEmail}, "at": {"2030-01-01T08:00"}, "confirm": {"yes"}})
		if a.status != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", p, a.status)
		}
	}
	for _, p := range []string{"/admin/lists/keji/subscribers.json?q=readers", "/admin/lists/keji/issues", "/admin/lists/keji/import", "/admin/lists/keji/subscribers", "/admin/lists/keji/topics", "/admin/lists/keji/bounces"} {
		if a := b.get(p); a.status != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", p, a.status)
		}
	}
	// A made-up id is 404, and so is a malformed one.
	for _, p := range []string{"/admin/issues/99999", "/admin/issues/abc", "/admin/issues/-1"} {
		if a := b.get(p); a.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, a.status)
		}
	}
	d, _ := e.svc.Issue(bg, ops.CLI(), is.ID)
	if d.Issue.Status != "draft" || d.Issue.Articles[0].Title == "owned" {
		t.Fatalf("refused requests changed the issue: %s %q", d.Issue.Status, d.Issue.Articles[0].Title)
	}
	// The header never names the other list.
	if a := b.get("/admin/"); strings.Contains(a.body, "科技情报参考") {
		t.Error("the other list's name shows on the editor's home page")
	}
}

// Admin pages are the admins': an editor gets 403.
func TestAdminPagesAreForAdmins(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn(editorEmail)
	for _, p := range []string{"/admin/users", "/admin/tokens", "/admin/audit"} {
		if a := b.get(p); a.status != http.StatusForbidden {
			t.Errorf("editor GET %s: %d", p, a.status)
		}
	}
	if a := b.post("/admin/tokens", url.Values{"name": {"mine"}, "role": {"admin"}}); a.status != http.StatusForbidden {
		t.Errorf("editor makes a token: %d", a.status)
	}
	if a := b.post("/admin/users", url.Values{"name": {"x@example.org"}, "role": {"admin"}}); a.status != http.StatusForbidden {
		t.Errorf("editor adds a user: %d", a.status)
	}
	if a := b.get("/admin/"); strings.Contains(a.body, `href="/admin/users"`) {
		t.Error("editor's navigation shows Users")
	}
}

// Pages need a session: GET goes to the sign-in page (and back after),
// POST answers 401; after sign-out the old id is dead.
func TestPagesNeedSession(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	a := b.get("/admin/lists/keji/issues?x=1")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/admin/signin?next="+url.QueryEscape("/admin/lists/keji/issues?x=1") {
		t.Fatalf("signed out GET: %d %q", a.status, a.header.Get("Location"))
	}
	if a := b.post("/admin/issues/1/retag", nil); a.status != http.StatusUnauthorized {
		t.Errorf("signed out POST: %d", a.status)
	}
	a = b.post("/admin/signin", url.Values{"email": {editorEmail}, "password": {password}, "next": {"/admin/lists/keji/issues?x=1"}})
	if a.header.Get("Location") != "/admin/lists/keji/issues?x=1" {
		t.Errorf("after sign-in: %q", a.header.Get("Location"))
	}
	for _, evil := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "/elsewhere"} {
		a := e.browser().post("/admin/signin", url.Values{"email": {editorEmail}, "password": {password}, "next": {evil}})
		if a.header.Get("Location") != "/admin/" {
			t.Errorf("next=%q sent the browser to %q", evil, a.header.Get("Location"))
		}
	}
	old := b.session()
	if a := b.post("/admin/signout", nil); a.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", a.status)
	}
	c := e.browser()
	u, _ := url.Parse(e.ts.URL + "/admin/")
	c.jar.SetCookies(u, []*http.Cookie{{Name: "tidings_session", Value: old, Path: "/admin/"}})
	if a := c.get("/admin/"); a.status != http.StatusSeeOther {
		t.Errorf("signed-out id still works: %d", a.status)
	}
}

// Every console answer carries the security headers; the preview frame
// its own strict CSP, and the page embeds it with sandbox="".
func TestSecurityHeadersAndSandboxedPreview(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	a := b.get(fmt.Sprintf("/admin/issues/%d/preview", is.ID))
	if a.status != 200 {
		t.Fatalf("preview: %d %s", a.status, a.body)
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("page CSP %q", csp)
	}
	if !strings.Contains(a.body, `<iframe sandbox="" src="/admin/issues/`) {
		t.Errorf("preview frame not sandboxed:\n%s", a.body)
	}
	f := b.get(fmt.Sprintf("/admin/issues/%d/preview/frame?topics=all", is.ID))
	if want := "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"; !strings.HasPrefix(f.header.Get("Content-Security-Policy"), want) {
		t.Errorf("frame CSP %q", f.header.Get("Content-Security-Policy"))
	}
	if f.status != 200 || !strings.Contains(f.body, "南京市以科技创新驱动提升生物医药产业能级") {
		t.Errorf("frame: %d", f.status)
	}
	for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "Cache-Control"} {
		if a.header.Get(h) == "" {
			t.Errorf("no %s", h)
		}
	}
}

// Every state-changing route refuses a cross-site POST from a signed-in
// admin, and no route changes anything on GET (each GET is answered the
// same twice and leaves the audit log as it was).
func TestEveryRouteRefusesCrossSitePostAndGetChangesNothing(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(adminEmail)
	fill := strings.NewReplacer("{id}", strconv.FormatInt(is.ID, 10), "{pos}", "1", "{list}", "keji", "{slug}", "biomed",
		"{email}", "care@readers.example", "{name}", "none", "{value}", "nothing", "{$}", "")
	auditLen := func() int {
		es, _, err := e.svc.Audit(bg, ops.CLI(), "", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := auditLen()
	posts := 0
	for _, p := range console.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		path = fill.Replace(path)
		switch method {
		case "POST":
			posts++
			a := b.post(path, url.Values{"confirm": {"yes"}, "lang": {"en"}}, "Sec-Fetch-Site", "cross-site")
			if a.status != http.StatusForbidden {
				t.Errorf("cross-site POST %s: %d", path, a.status)
			}
		case "GET":
			if strings.Contains(path, "/link/") || strings.HasSuffix(path, "/download") {
				continue
			}
			b.get(path)
		}
	}
	if posts < 30 {
		t.Fatalf("only %d POST routes walked", posts)
	}
	// Signing in is the one thing a GET walk may record; there was none.
	if after := auditLen(); after != before {
		t.Errorf("GET requests and refused POSTs wrote %d audit entries", after-before)
	}
	if d, _ := e.svc.Issue(bg, ops.CLI(), is.ID); d.Issue.Status != "draft" {
		t.Errorf("issue status %s after the walk", d.Issue.Status)
	}
}

// A reverse proxy's origin named in TrustedOrigins may post; others not.
func TestTrustedOriginMayPost(t *testing.T) {
	e := newEnv(t, envOpts{trusted: []string{"https://admin.example.org"}})
	b := e.browser()
	b.signIn(editorEmail)
	if a := b.post("/admin/lang", url.Values{"lang": {"zh"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://admin.example.org"); a.status != http.StatusSeeOther {
		t.Errorf("trusted origin: %d", a.status)
	}
	if a := b.post("/admin/lang", url.Values{"lang": {"zh"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://other.example.org"); a.status != http.StatusForbidden {
		t.Errorf("untrusted origin: %d", a.status)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := console.New(console.Config{}); !errors.Is(err, console.ErrConfig) {
		t.Errorf("no Ops: %v", err)
	}
	if _, err := console.New(console.Config{Ops: ops.New(ops.Deps{}), TrustedOrigins: []string{"admin.example.org/path"}}); !errors.Is(err, console.ErrConfig) {
		t.Errorf("bad trusted origin: %v", err)
	}
}

// Behind https the session cookie is Secure; on plain http it cannot be.
func TestSecureCookies(t *testing.T) {
	for _, secure := range []bool{true, false} {
		e := newEnv(t, envOpts{secure: secure})
		a := e.browser().post("/admin/signin", url.Values{"email": {editorEmail}, "password": {password}})
		if got := strings.Contains(a.header.Get("Set-Cookie"), "; Secure"); got != secure {
			t.Errorf("SecureCookies=%v: Set-Cookie %q", secure, a.header.Get("Set-Cookie"))
		}
	}
}
