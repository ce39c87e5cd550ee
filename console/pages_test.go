package console_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

func must(t *testing.T, a answer, status int, what string) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, a.status, status, a.body)
	}
	return a
}

// Import: pasted Markdown becomes an issue and the browser lands on its
// article list; a parse error comes back with its line, the text kept.
func TestImportPastedIssueAndParseErrors(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn(editorEmail)
	bad := "# 测试\n\n2024年第1期\n\n## 第一篇 {foo=bar}\n\n正文\n"
	a := must(t, b.post("/admin/lists/keji/import", url.Values{"source": {bad}}), 422, "bad import")
	if !strings.Contains(a.body, "Line 5:") || !strings.Contains(a.body, "unknown heading attribute") {
		t.Errorf("parse error without its line:\n%s", a.body)
	}
	if !strings.Contains(a.body, "第一篇 {foo=bar}") {
		t.Error("the pasted text is lost")
	}
	if !strings.Contains(a.body, `<pre class="badline">## 第一篇 {foo=bar}</pre>`) {
		t.Error("the bad line is not shown beside the message")
	}
	must(t, b.post("/admin/lists/keji/import", url.Values{"source": {"  \n"}}), 422, "empty import")
	if is, _ := e.svc.Issues(bg, ops.CLI(), "keji"); len(is) != 0 {
		t.Fatalf("a failed import stored %d issues", len(is))
	}

	a = must(t, b.post("/admin/lists/keji/import", url.Values{"source": {string(sample(t))}}), 303, "import")
	loc := a.header.Get("Location")
	if !regexp.MustCompile(`^/admin/issues/\d+\?done=imported$`).MatchString(loc) {
		t.Fatalf("after import: %q", loc)
	}
	page := must(t, b.get(loc), 200, "issue page")
	for _, want := range []string{"The issue is imported.", "南京市以科技创新驱动提升生物医药产业能级", `data-aud="5"`, "Who gets what"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("issue page lacks %q", want)
		}
	}
	// The same file uploaded (multipart) with "replace": same number, one issue.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "keji.md")
	fw.Write(sample(t))
	mw.WriteField("replace", "on")
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/admin/lists/keji/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	must(t, b.do(req), 303, "upload with replace")
	if is, _ := e.svc.Issues(bg, ops.CLI(), "keji"); len(is) != 1 {
		t.Errorf("%d issues after replacing", len(is))
	}
}

// The article form without the script: title and topics change, only
// what changed is sent; bad input is shown at the article; with the
// script's Accept header the answer is the new audience.
func TestArticleFormChangesTitleAndTopics(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	p := fmt.Sprintf("/admin/issues/%d/articles/3", is.ID)
	title := "滁州市链式推动企业科技成果转化"
	a := must(t, b.post(p, url.Values{"orig_title": {title}, "title": {"滁州：成果转化"}, "orig_topics": {"transfer"}, "topics": {"transfer"}}), 303, "rename")
	if a.header.Get("Location") != fmt.Sprintf("/admin/issues/%d?done=saved#article-3", is.ID) {
		t.Errorf("after save: %q", a.header.Get("Location"))
	}
	d, _ := e.svc.Issue(bg, ops.CLI(), is.ID)
	if ar := d.Issue.Articles[2]; ar.Title != "滁州：成果转化" || ar.TaggedBy != tidings.TaggedByKeywords {
		t.Errorf("after a title change: %q tagged by %s (topics must stay keyword-tagged)", ar.Title, ar.TaggedBy)
	}
	must(t, b.post(p, url.Values{"orig_title": {"滁州：成果转化"}, "title": {"滁州：\r\n成果转化"}, "orig_topics": {"transfer"}, "topics": {"transfer"}}), 303, "two-line title")
	if d, _ := e.svc.Issue(bg, ops.CLI(), is.ID); d.Issue.Articles[2].Title != "滁州： 成果转化" {
		t.Errorf("a title with a line break stored as %q", d.Issue.Articles[2].Title)
	}
	must(t, b.post(p, url.Values{"orig_title": {"滁州： 成果转化"}, "title": {"滁州：成果转化"}, "orig_topics": {"transfer"}, "topics": {"transfer"}}), 303, "rename back")
	a = must(t, b.post(p, url.Values{"orig_title": {"滁州：成果转化"}, "title": {""}, "orig_topics": {"transfer"}}), 422, "empty title")
	if !strings.Contains(a.body, "The title cannot be empty.") || !strings.Contains(a.body, `id="article-3"`) {
		t.Error("no message at the article")
	}
	// The script's request: topics only, JSON back.
	a = must(t, b.post(p, url.Values{"orig_title": {"滁州：成果转化"}, "orig_topics": {"transfer"}, "topics": {"transfer", "biomed"}}, "Accept", "application/json"), 200, "live retag")
	if !strings.Contains(a.body, `{"position":3,"recipients":4}`) || !strings.Contains(a.body, `"recipients":5`) {
		t.Errorf("live answer %s", a.body)
	}
	// An unknown topic is the editor's mistake: 422, nothing stored.
	a = b.post(p, url.Values{"orig_title": {"滁州：成果转化"}, "orig_topics": {"biomed,transfer"}, "topics": {"nope"}}, "Accept", "application/json")
	if a.status != 422 || !strings.Contains(a.header.Get("Content-Type"), "problem+json") {
		t.Errorf("unknown topic: %d %s", a.status, a.body)
	}
	d, _ = e.svc.Issue(bg, ops.CLI(), is.ID)
	if got := d.Issue.Articles[2].Topics; !slices.Equal(got, []string{"biomed", "transfer"}) {
		t.Errorf("topics %v", got)
	}
	// Re-apply keywords: the hand-tagged article keeps its topics.
	must(t, b.post(fmt.Sprintf("/admin/issues/%d/retag", is.ID), nil), 303, "retag")
	d, _ = e.svc.Issue(bg, ops.CLI(), is.ID)
	if got := d.Issue.Articles[2].Topics; !slices.Equal(got, []string{"biomed", "transfer"}) {
		t.Errorf("retag overwrote a hand tag: %v", got)
	}
}

// Test copy, schedule and send-now forms: bad input comes back at its
// form; a missing relay is said plainly; send needs its confirmation.
func TestIssueFormsRefuseBadInput(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	base := fmt.Sprintf("/admin/issues/%d", is.ID)
	a := must(t, b.post(base+"/test", url.Values{"to": {"not an address"}}), 422, "bad test address")
	if !strings.Contains(a.body, "not an address is not a valid email address.") {
		t.Error("no message for the bad address")
	}
	a = must(t, b.post(base+"/test", url.Values{"to": {editorEmail}}), 503, "no relay")
	if !strings.Contains(a.body, `role="alert"`) {
		t.Error("no message when no relay is configured")
	}
	for _, at := range []string{"", "tomorrow", "2020-01-01T08:00"} {
		a := b.post(base+"/schedule", url.Values{"at": {at}})
		if a.status != 422 || !strings.Contains(a.body, `id="schedule"`) {
			t.Errorf("schedule at %q: %d", at, a.status)
		}
		if at == "2020-01-01T08:00" && !strings.Contains(a.body, "Send time: ") {
			t.Errorf("a time in the past: the message does not name the field")
		}
	}
	if ss, _ := e.svc.Schedules(bg, ops.CLI(), "keji"); len(ss) != 0 {
		t.Fatalf("bad times stored %d schedules", len(ss))
	}
	a = must(t, b.post(base+"/ready", nil), 303, "mark ready")
	if d, _ := e.svc.Issue(bg, ops.CLI(), is.ID); d.Issue.Status != tidings.IssueReady {
		t.Fatalf("after mark ready: %s", d.Issue.Status)
	}
	if p := must(t, b.get(a.header.Get("Location")), 200, "issue page"); !strings.Contains(p.body, "Marked ready") || strings.Contains(p.body, base+"/ready") {
		t.Error("a ready issue still offers the button, or no notice")
	}
	must(t, b.post(base+"/send", nil), 422, "send without confirmation")
	if d, _ := e.svc.Issue(bg, ops.CLI(), is.ID); d.Issue.Status != tidings.IssueReady {
		t.Fatalf("unconfirmed send changed the issue to %s", d.Issue.Status)
	}
	a = must(t, b.get(base+"/send"), 200, "confirmation page")
	if !strings.Contains(a.body, "5 readers will get it.") {
		t.Error("the confirmation does not state the number of readers")
	}
	// Without a base URL nobody sends: ops says so; here the base is set,
	// so the send is handed over and the progress page follows.
	a = must(t, b.post(base+"/send", url.Values{"confirm": {"yes"}}), 303, "send")
	if a.header.Get("Location") != base+"/progress?done=sending" {
		t.Errorf("after send: %q", a.header.Get("Location"))
	}
	must(t, b.get(base+"/progress"), 200, "progress")
	a = must(t, b.get(base+"/progress.json"), 200, "progress.json")
	if !strings.Contains(a.body, `"total":`) || !strings.Contains(a.body, `"failures":[]`) {
		t.Errorf("progress.json %s", a.body)
	}
	must(t, b.post(base+"/send", url.Values{"confirm": {"yes"}}), 409, "second send")
	must(t, b.post(base+"/cancel", nil), 422, "cancel without the box")
}

// The one-time link: GET shows the form and never uses the link up (mail
// scanners open links); POST sets the password and signs in; then the
// link is dead.
func TestSignInLinkSetsPasswordOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, link, err := e.svc.AddUser(bg, ops.CLI(), ops.NewUser{Email: "new@example.org", Role: tidings.RoleEditor, Lists: []string{"keji"}})
	if err != nil || link == "" {
		t.Fatalf("add user: %q %v", link, err)
	}
	u, _ := url.Parse(link)
	if !strings.HasPrefix(u.Path, "/admin/link/") {
		t.Fatalf("link %q is not a console link", link)
	}
	b := e.browser()
	for i := 0; i < 2; i++ {
		a := must(t, b.get(u.Path), 200, "open link")
		if !strings.Contains(a.body, "new@example.org") {
			t.Error("the link page does not say whom it is for")
		}
	}
	must(t, b.post(u.Path, url.Values{"password": {"short"}, "confirm": {"short"}}), 422, "short password")
	must(t, b.post(u.Path, url.Values{"password": {"long enough 1"}, "confirm": {"long enough 2"}}), 422, "mismatch")
	a := must(t, b.post(u.Path, url.Values{"password": {"long enough 1"}, "confirm": {"long enough 1"}}), 303, "set password")
	if b.session() == "" || a.header.Get("Location") != "/admin/?done=password" {
		t.Fatalf("not signed in after setting the password: %q", a.header.Get("Location"))
	}
	must(t, b.get("/admin/"), 200, "home after link")
	a = must(t, e.browser().get(u.Path), 404, "used link")
	if !strings.Contains(a.body, "This link does not work") {
		t.Error("a used link is not explained")
	}
	must(t, e.browser().get("/admin/link/made-up"), 404, "unknown link")
	must(t, e.browser().post("/admin/link/made-up", url.Values{"password": {"long enough 1"}, "confirm": {"long enough 1"}}), 404, "unknown link POST")
}

// Language: from Accept-Language by quality, else Chinese; the switch
// is kept in a cookie signed out, and with the user signed in.
func TestLanguageFromBrowserAndChoice(t *testing.T) {
	e := newEnv(t, envOpts{})
	get := func(b *browser, lang string) string {
		req, _ := http.NewRequest("GET", e.ts.URL+"/admin/signin", nil)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		return b.do(req).body
	}
	for _, c := range []struct{ accept, want string }{
		{"zh-CN,zh;q=0.9,en;q=0.8", `lang="zh-CN"`},
		{"en-US,en;q=0.9", `lang="en"`},
		{"fr-FR, en;q=0.5, zh;q=0.7", `lang="zh-CN"`},
		{"de", `lang="zh-CN"`},
		{"", `lang="zh-CN"`},
	} {
		if body := get(e.browser(), c.accept); !strings.Contains(body, c.want) {
			t.Errorf("Accept-Language %q: want %s", c.accept, c.want)
		}
	}
	b := e.browser()
	must(t, b.post("/admin/lang", url.Values{"lang": {"zh"}, "back": {"/admin/signin"}}), 303, "switch")
	if body := get(b, "en"); !strings.Contains(body, `lang="zh-CN"`) || !strings.Contains(body, "登录") {
		t.Error("the switch did not stick")
	}
	must(t, b.post("/admin/lang", url.Values{"lang": {"klingon"}}), 422, "unknown language")
	// Signed in, the choice is the user's, on any browser.
	b.signIn(editorEmail)
	must(t, b.post("/admin/lang", url.Values{"lang": {"zh"}, "back": {"https://evil.example/"}}), 303, "switch signed in")
	c := e.browser()
	c.signIn(editorEmail)
	if a := c.get("/admin/"); !strings.Contains(a.body, "我的刊物") {
		t.Error("the stored language is not used on another browser")
	}
}

// Changing the password needs the old one, ends the other sessions and
// keeps this browser signed in.
func TestChangePassword(t *testing.T) {
	e := newEnv(t, envOpts{})
	b, other := e.browser(), e.browser()
	b.signIn(editorEmail)
	other.signIn(editorEmail)
	must(t, b.post("/admin/password", url.Values{"old": {"wrong password"}, "password": {"a new password"}, "confirm": {"a new password"}}), 422, "wrong old")
	must(t, b.post("/admin/password", url.Values{"old": {password}, "password": {"a new password"}, "confirm": {"other"}}), 422, "mismatch")
	must(t, b.post("/admin/password", url.Values{"old": {password}, "password": {"a new password"}, "confirm": {"a new password"}}), 303, "change")
	must(t, b.get("/admin/"), 200, "this browser")
	must(t, other.get("/admin/"), 303, "other browser")
	a := e.browser().post("/admin/signin", url.Values{"email": {editorEmail}, "password": {"a new password"}})
	must(t, a, 303, "sign in with the new password")
}

// Subscribers: search, filter, keyset pages, a person's page, changes,
// and the admin's erase.
func TestSubscriberPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	for i := 0; i < 55; i++ {
		if _, err := e.svc.AddSubscriber(bg, ops.CLI(), "keji", fmt.Sprintf("bulk%02d@readers.example", i), "", subscribers.AllTopics); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser()
	b.signIn(editorEmail)
	a := must(t, b.get("/admin/lists/keji/subscribers"), 200, "first page")
	rows := strings.Count(a.body, `<a href="/admin/subscribers/`)
	next := regexp.MustCompile(`href="([^"]+cursor=[^"]+)" rel="next"`).FindStringSubmatch(a.body)
	if rows != 50 || next == nil {
		t.Fatalf("first page: %d rows, next %v", rows, next)
	}
	a = must(t, b.get(strings.ReplaceAll(next[1], "&amp;", "&")), 200, "second page")
	if rows := strings.Count(a.body, `<a href="/admin/subscribers/`); rows != 10 || strings.Contains(a.body, `rel="next"`) {
		t.Errorf("second page: %d rows", rows)
	}
	a = must(t, b.get("/admin/lists/keji/subscribers?q=bio&topic=biomed"), 200, "search")
	if n := strings.Count(a.body, `<a href="/admin/subscribers/`); n != 2 {
		t.Errorf("search bio in biomed: %d rows", n)
	}
	// Rows name topics as editors know them, not by slug.
	if !strings.Contains(a.body, `">生物医药</td>`) || strings.Contains(a.body, `">biomed</td>`) {
		t.Errorf("the rows do not name the topic 生物医药:\n%s", a.body)
	}
	must(t, b.get("/admin/lists/keji/subscribers?status=nonsense"), 422, "bad status filter")
	if a := must(t, b.get("/admin/lists/keji/subscribers.json?q=bio"), 200, "suggest"); a.body != `["bio2@readers.example","bio@readers.example"]`+"\n" && a.body != `["bio@readers.example","bio2@readers.example"]`+"\n" {
		t.Errorf("suggestions %s", a.body)
	}
	if a := must(t, b.get("/admin/lists/keji/subscribers.json?q=b"), 200, "suggest short"); a.body != "[]\n" {
		t.Errorf("one letter suggests %s", a.body)
	}

	must(t, b.post("/admin/lists/keji/subscribers", url.Values{"email": {"nope"}, "all_topics": {"on"}}), 422, "bad address")
	must(t, b.post("/admin/lists/keji/subscribers", url.Values{"email": {"x@readers.example"}}), 422, "no topics")
	a = must(t, b.post("/admin/lists/keji/subscribers", url.Values{"email": {"new@readers.example"}, "name": {"新读者"}, "topics": {"biomed"}}), 303, "add")
	page := must(t, b.get(a.header.Get("Location")), 200, "person")
	if !strings.Contains(page.body, "新读者") || !strings.Contains(page.body, `value="biomed" checked`) {
		t.Error("the person page does not show the name and topic")
	}
	must(t, b.post("/admin/subscribers/new@readers.example/topics", url.Values{"list": {"keji"}, "topics": {"transfer"}}), 303, "topics")
	must(t, b.post("/admin/subscribers/new@readers.example/status", url.Values{"list": {"keji"}, "status": {"unsubscribed"}}), 303, "unsubscribe")
	must(t, b.post("/admin/subscribers/new@readers.example/status", url.Values{"list": {"keji"}, "status": {"pending"}}), 422, "bad status")
	d, err := e.svc.Subscriber(bg, ops.CLI(), "new@readers.example")
	if err != nil || d.Subscriber.Subscriptions[0].Status != tidings.StatusUnsubscribed || !slices.Equal(d.Subscriber.Subscriptions[0].Topics, []string{"transfer"}) {
		t.Fatalf("after changes: %+v %v", d, err)
	}
	// Erase is the admin's, and needs the box ticked.
	must(t, b.post("/admin/subscribers/new@readers.example/erase", url.Values{"confirm": {"yes"}}), 403, "editor erases")
	adm := e.browser()
	adm.signIn(adminEmail)
	must(t, adm.post("/admin/subscribers/new@readers.example/erase", nil), 422, "erase unticked")
	must(t, adm.post("/admin/subscribers/new@readers.example/erase", url.Values{"confirm": {"yes"}}), 303, "erase")
	must(t, adm.get("/admin/subscribers/new@readers.example"), 404, "erased person")
	// The other list's editor learns nothing of keji's readers.
	o := e.browser()
	o.signIn(otherEmail)
	must(t, o.get("/admin/subscribers/care@readers.example"), 404, "other list's reader")
}

// CSV import with a dry run: a job page with progress and the bad lines.
func TestSubscriberCSVImportDryRun(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn(adminEmail)
	must(t, b.get("/admin/lists/keji/subscribers/import"), 200, "import form")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "readers.csv")
	fw.Write([]byte("email,name\nok1@readers.example,One\nnot-an-address,Two\nok2@readers.example,Three\n"))
	mw.WriteField("dry_run", "on")
	mw.WriteField("all_topics", "on")
	mw.Close()
	req, _ := http.NewRequest("POST", e.ts.URL+"/admin/lists/keji/subscribers/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	a := must(t, b.do(req), 303, "start import")
	job := a.header.Get("Location")
	deadline := time.Now().Add(10 * time.Second)
	for {
		a = must(t, b.get(job), 200, "job page")
		if strings.Contains(a.body, ">Done<") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(a.body, ">Done<") || !strings.Contains(a.body, "Error report") || !strings.Contains(a.body, `<td class="n">3</td>`) {
		t.Errorf("job page:\n%s", a.body)
	}
	if _, err := e.svc.Subscriber(bg, ops.CLI(), "ok1@readers.example"); err == nil {
		t.Error("a dry run added a reader")
	}
	// Editors import nothing.
	ed := e.browser()
	ed.signIn(editorEmail)
	must(t, ed.post("/admin/lists/keji/subscribers/export", nil), 403, "editor export")
}

// Admin pages: users (a one-time link shown once), tokens (the secret
// shown once), lists, topics with the keyword try-out, the audit log.
func TestAdminPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(adminEmail)
	a := must(t, b.post("/admin/users", url.Values{"name": {"ed2@example.org"}, "role": {"editor"}, "lists": {"keji"}}), 201, "add user")
	if !regexp.MustCompile(`id="new-link">http[^<]+/admin/link/[^<]+<`).MatchString(a.body) {
		t.Error("the one-time link is not shown")
	}
	must(t, b.post("/admin/users", url.Values{"name": {"bad"}, "role": {"editor"}}), 422, "bad user")
	a = must(t, b.post("/admin/tokens", url.Values{"name": {"ci-bot"}, "role": {"editor"}, "lists": {"keji"}}), 201, "add token")
	secret := regexp.MustCompile(`id="new-token">([^<]+)<`).FindStringSubmatch(a.body)
	if secret == nil {
		t.Fatal("the token is not shown")
	}
	if act, err := e.svc.TokenActor(bg, secret[1], "127.0.0.1"); err != nil || act.Name != "ci-bot" {
		t.Errorf("the shown token does not work: %v", err)
	}
	if a := must(t, b.get("/admin/tokens"), 200, "tokens"); strings.Contains(a.body, secret[1]) {
		t.Error("the token is shown again")
	}
	must(t, b.post("/admin/tokens/ci-bot/delete", nil), 303, "revoke")
	must(t, b.post("/admin/lists", url.Values{"slug": {"new"}, "name": {"新刊"}, "from": {"新刊 <new@example.org>"}, "lang": {"zh"}, "tz": {"Asia/Shanghai"}}), 303, "add list")
	must(t, b.post("/admin/lists", url.Values{"slug": {"Bad Slug"}, "name": {"x"}, "from": {"x <x@example.org>"}, "lang": {"zh"}}), 422, "bad list")
	must(t, b.post("/admin/lists/new/settings", url.Values{"name": {"新刊 2"}, "from": {"新刊 <new@example.org>"}, "lang": {"en"}, "tz": {"UTC"}, "clicks": {"off"}}), 303, "list settings")
	if l, _ := e.svc.List(bg, ops.CLI(), "new"); l.Name != "新刊 2" || l.Lang != tidings.LangEN || l.Clicks != tidings.TrackOff {
		t.Errorf("list after settings: %+v", l)
	}
	must(t, b.post("/admin/lists/beta/delete", url.Values{"force": {"yes"}}), 422, "delete unticked")
	if a := must(t, b.post("/admin/lists/beta/delete", url.Values{"confirm": {"yes"}}), 409, "delete with readers"); !strings.Contains(a.body, `role="alert"`) {
		t.Error("refused delete not explained")
	}
	ed := e.browser()
	ed.signIn(editorEmail)
	must(t, ed.post("/admin/lists/keji/delete", url.Values{"confirm": {"yes"}, "force": {"yes"}}), 403, "editor deletes")
	must(t, b.post("/admin/lists/beta/delete", url.Values{"confirm": {"yes"}, "force": {"yes"}}), 303, "delete with force")
	if _, err := e.svc.List(bg, ops.CLI(), "beta"); err == nil {
		t.Error("list still there")
	}
	a = must(t, b.get("/admin/lists/keji/topics?keywords=宁波"), 200, "keyword try-out")
	if !strings.Contains(a.body, `id="kw-hits"`) || !strings.Contains(a.body, "宁波：探索创新") {
		t.Error("the keyword try-out shows no hit")
	}
	must(t, b.post("/admin/lists/keji/topics", url.Values{"slug": {"ningbo"}, "name": {"宁波"}, "keywords": {"宁波，研发加速器"}}), 303, "add topic")
	if ts, _ := e.svc.Topics(bg, ops.CLI(), "keji"); !slices.ContainsFunc(ts, func(tp tidings.Topic) bool {
		return tp.Slug == "ningbo" && slices.Equal(tp.Keywords, []string{"宁波", "研发加速器"})
	}) {
		t.Errorf("topic not added with its keywords: %+v", ts)
	}
	must(t, b.post("/admin/lists/keji/topics", url.Values{"slug": {"ningbo"}, "name": {"again"}}), 409, "duplicate topic")
	a = must(t, b.get("/admin/audit"), 200, "audit")
	for _, want := range []string{"token.add", "user.add", "topic.add"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	must(t, b.post("/admin/schedules", url.Values{"list": {"keji"}, "cron": {"0 8 * * 1"}}), 303, "recurring")
	must(t, b.post("/admin/schedules", url.Values{"list": {"keji"}, "cron": {"every monday"}}), 422, "bad cron")
	a = must(t, b.get("/admin/schedules"), 200, "schedules")
	if !strings.Contains(a.body, "<code>0 8 * * 1</code>") || !strings.Contains(a.body, "(Asia/Shanghai)") {
		t.Error("the recurring schedule and its next run in the list's zone are not shown")
	}
	must(t, b.get("/admin/lists/keji/bounces"), 200, "bounces")
	must(t, b.get("/admin/lists/keji/bounces?kind=nonsense"), 422, "bad bounce kind")
}

// Every page renders in both languages for an admin, without an
// untranslated key or a formatting slip.
func TestEveryPageRendersInBothLanguages(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	id := fmt.Sprint(is.ID)
	pages := []string{"/admin/", "/admin/password", "/admin/lists", "/admin/lists/keji/settings", "/admin/lists/keji/issues",
		"/admin/lists/keji/import", "/admin/issues/" + id, "/admin/issues/" + id + "/preview", "/admin/issues/" + id + "/preview?topics=biomed",
		"/admin/issues/" + id + "/send", "/admin/issues/" + id + "/progress", "/admin/lists/keji/subscribers",
		"/admin/lists/keji/subscribers/import", "/admin/subscribers/care@readers.example", "/admin/lists/keji/topics",
		"/admin/schedules", "/admin/lists/keji/bounces", "/admin/users", "/admin/tokens", "/admin/audit"}
	codeRE := regexp.MustCompile(`<code>[^<]*</code>`)
	keyLike := regexp.MustCompile(`>\s*(?:[a-z]+\.)+[a-z]+\s*<`)
	for _, lang := range []string{"en", "zh"} {
		b := e.browser()
		b.signIn(adminEmail)
		must(t, b.post("/admin/lang", url.Values{"lang": {lang}}), 303, "language")
		for _, p := range pages {
			a := must(t, b.get(p), 200, lang+" "+p)
			// Audit actions (user.signin) are codes, shown as such.
			if m := keyLike.FindString(codeRE.ReplaceAllString(a.body, "")); m != "" {
				t.Errorf("%s %s: untranslated %s", lang, p, m)
			}
			if strings.Contains(a.body, "%!") {
				t.Errorf("%s %s: formatting slip", lang, p)
			}
		}
	}
	b := e.browser()
	b.signIn(adminEmail)
	must(t, b.get("/admin/nothing-here"), 404, "unknown page")
}

// Export: a job whose page offers the file when done; the file streams
// the list's readers.
func TestSubscriberExportJob(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := e.browser()
	b.signIn(adminEmail)
	a := must(t, b.post("/admin/lists/keji/subscribers/export", url.Values{"format": {"csv"}}), 303, "export")
	job := a.header.Get("Location")
	deadline := time.Now().Add(10 * time.Second)
	for {
		a = must(t, b.get(job+"/progress.json"), 200, "job json")
		if strings.Contains(a.body, `"state":"done"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p := must(t, b.get(job), 200, "job page"); !strings.Contains(p.body, `href="`+job+`/download"`) {
		t.Fatalf("no download link on a finished export:\n%s", p.body)
	}
	f := must(t, b.get(job+"/download"), 200, "download")
	if !strings.HasPrefix(f.header.Get("Content-Type"), "text/csv") || !strings.Contains(f.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download headers %v", f.header)
	}
	for _, want := range []string{"care@readers.example", "bio2@readers.example"} {
		if !strings.Contains(f.body, want) {
			t.Errorf("export lacks %s", want)
		}
	}
	if strings.Contains(f.body, "b@readers.example\n") {
		t.Error("export holds another list's reader")
	}
	// Another list's editor cannot read the job or its file.
	o := e.browser()
	o.signIn(otherEmail)
	if a := o.get(job + "/download"); a.status != 403 && a.status != 404 {
		t.Errorf("other editor downloads: %d", a.status)
	}
}
