package web_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/web"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	s := e.addSub(e.en, "h@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	for _, p := range []string{
		"/weekly/subscribe", "/keji/subscribe", "/weekly/archive", "/weekly/feed.xml", "/static/style.css", "/nope/subscribe", "/",
		"/weekly/preferences/" + e.tok(token.Preferences, e.en, s.ID),
		"/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID),
		"/weekly/confirm/bad",
	} {
		r := e.do(nil, "GET", p, nil)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		}
		for h, v := range want {
			if got := r.hdr.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", p, h, got, v)
			}
		}
		if strings.Contains(r.body, "<script") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s: inline script or style", p)
		}
	}
	// Escaping: a name with markup comes back as text.
	c := e.browser()
	page := e.do(c, "GET", "/weekly/subscribe", nil)
	r := e.do(c, "POST", "/weekly/subscribe", url.Values{"csrf": {csrfOf(t, page.body)}, "email": {"bad"}, "name": {`<script>alert(1)</script>`}, "topics": {"energy"}})
	if strings.Contains(r.body, "<script>alert") || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Errorf("name not escaped:\n%s", r.body)
	}
	// The CSRF cookie: not readable by script, not sent cross-site on POST.
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: page.hdr}).Cookies() {
		if c.Name == "tidings_csrf" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("csrf cookie %+v", ck)
	}
	if page.hdr.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-http base URL")
	}
	if page.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("form page Cache-Control %q", page.hdr.Get("Cache-Control"))
	}
	css := e.do(nil, "GET", "/static/style.css", nil)
	if css.code != 200 || !strings.HasPrefix(css.hdr.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %s", css.code, css.hdr.Get("Content-Type"))
	}
}

// Behind https, cookies are Secure and browsers are told to stay on https.
func TestHTTPSBase(t *testing.T) {
	e := newEnv(t)
	srv, err := web.New(web.Config{Subscribers: e.subs, Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer,
		Links: tidings.Links{Base: "https://news.example.org/letters"}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/weekly/subscribe", nil))
	if w.Code != 200 || w.Header().Get("Strict-Transport-Security") == "" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].Secure || c[0].Path != "/letters/" {
		t.Errorf("cookies %+v", c)
	}
	if !strings.Contains(w.Body.String(), `href="/letters/static/style.css"`) || !strings.Contains(w.Body.String(), `href="/letters/weekly/archive"`) {
		t.Errorf("links do not carry the base path:\n%s", w.Body.String())
	}
	// The prefix is taken off when no proxy did, and the pages' own
	// redirects keep it.
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/letters/weekly/subscribe", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Subscribe to Tidings Weekly") {
		t.Errorf("prefixed path: %d", w.Code)
	}
	for _, bad := range []string{"", "news.example.org", "ftp://x.org", "https://"} {
		if _, err := web.New(web.Config{Subscribers: e.subs, Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer, Links: tidings.Links{Base: bad}}); err == nil {
			t.Errorf("base %q accepted", bad)
		}
	}
	if _, err := web.New(web.Config{Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer, Links: tidings.Links{Base: "https://x.org"}}); err == nil {
		t.Error("no store accepted")
	}
}

// archiveEnv imports two issues into the English list and sends the first.
func archiveEnv(t *testing.T) (*env, *tidings.Issue, *tidings.Issue) {
	e := newEnv(t)
	ctx := context.Background()
	src, err := os.ReadFile("../issues/testdata/explicit.md")
	if err != nil {
		t.Fatal(err)
	}
	topics, _ := e.subs.Topics(ctx, e.en.ID)
	sent, err := e.iss.Import(ctx, e.en.ID, "explicit.md", src, topics)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.iss.MarkSent(ctx, sent.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	draftSrc := strings.Replace(string(src), "number: 42", "number: 43", 1)
	draftSrc = strings.Replace(draftSrc, "title: Tidings Weekly", "title: Secret Draft", 1)
	draft, err := e.iss.Import(ctx, e.en.ID, "draft.md", []byte(draftSrc), topics)
	if err != nil {
		t.Fatal(err)
	}
	return e, sent, draft
}

func TestArchiveShowsOnlySentIssues(t *testing.T) {
	e, sent, draft := archiveEnv(t)
	arch := e.do(nil, "GET", "/weekly/archive", nil)
	if arch.code != 200 || !strings.Contains(arch.body, "/weekly/archive/42") || strings.Contains(arch.body, "/weekly/archive/43") || strings.Contains(arch.body, "Secret Draft") {
		t.Fatalf("archive: %d\n%s", arch.code, arch.body)
	}
	page := e.do(nil, "GET", "/weekly/archive/42", nil)
	if page.code != 200 || !strings.Contains(page.body, "Battery recycling plant opens") || !strings.Contains(page.body, "A new fund for biotech start-ups") {
		t.Fatalf("issue page: %d\n%s", page.code, page.body)
	}
	for _, p := range []string{"/weekly/archive/43", "/weekly/archive/44", "/weekly/archive/x", "/keji/archive/42"} {
		if r := e.do(nil, "GET", p, nil); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	feed := e.do(nil, "GET", "/weekly/feed.xml", nil)
	if feed.code != 200 || !strings.HasPrefix(feed.hdr.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %d %s", feed.code, feed.hdr.Get("Content-Type"))
	}
	var f struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(feed.body), &f); err != nil {
		t.Fatalf("feed: %v\n%s", err, feed.body)
	}
	if len(f.Entries) != 1 || f.Entries[0].ID != e.ts.URL+"/weekly/archive/42" || !strings.Contains(f.Entries[0].Content, "Battery recycling") {
		t.Errorf("feed entries: %+v", f.Entries)
	}
	_ = sent
	// Once the draft is sent, it appears, newest first.
	if err := e.iss.MarkSent(context.Background(), draft.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	arch = e.do(nil, "GET", "/weekly/archive", nil)
	if i, j := strings.Index(arch.body, "/weekly/archive/43"), strings.Index(arch.body, "/weekly/archive/42"); i < 0 || j < 0 || i > j {
		t.Errorf("archive order: 43 at %d, 42 at %d", i, j)
	}
}

func TestLanguages(t *testing.T) {
	e := newEnv(t)
	zh := e.do(nil, "GET", "/keji/subscribe", nil)
	if !strings.Contains(zh.body, `<html lang="zh-CN">`) || !strings.Contains(zh.body, "订阅《科技情报参考》") || !strings.Contains(zh.body, "人工智能") || zh.hdr.Get("Content-Language") != "zh-CN" {
		t.Errorf("zh page:\n%s", zh.body)
	}
	en := e.do(nil, "GET", "/weekly/subscribe", nil)
	if !strings.Contains(en.body, `<html lang="en">`) || !strings.Contains(en.body, "Subscribe to Tidings Weekly") {
		t.Errorf("en page:\n%s", en.body)
	}
	// The zh confirmation mail is Chinese, its subject RFC 2047-encoded.
	r := e.subscribeForm(e.browser(), "keji", "zh@example.net", "李雷", "ai")
	if r.code != 200 || !strings.Contains(r.body, "请查收邮件") {
		t.Fatalf("zh subscribe: %d\n%s", r.code, r.body)
	}
	ms := e.mails()
	if len(ms) != 1 || ms[0].subject != "请确认订阅《科技情报参考》" || !strings.Contains(ms[0].text, "人工智能") {
		t.Fatalf("zh mail: %+v", ms)
	}
	if !regexp.MustCompile(`(?i)\nSubject:\s+=\?utf-8\?`).Match(ms[0].raw) {
		t.Errorf("subject not RFC 2047-encoded:\n%s", ms[0].raw)
	}
	ok := e.do(nil, "GET", linkIn(t, ms[0], "confirm"), nil)
	if ok.code != 200 || !strings.Contains(ok.body, "订阅成功") || !strings.Contains(ok.body, "人工智能") {
		t.Errorf("zh confirm page: %d\n%s", ok.code, ok.body)
	}
	p, _ := e.subs.Get(context.Background(), "zh@example.net")
	for _, c := range []struct{ path, zh, en string }{
		{"/%s/preferences/" + e.tok(token.Preferences, e.zh, p.ID), "订阅设置", ""},
		{"/%s/unsubscribe/" + e.tok(token.Unsubscribe, e.zh, p.ID), "退订《科技情报参考》？", ""},
		{"/%s/archive", "《科技情报参考》往期", "Tidings Weekly — archive"},
		{"/%s/confirm/bad", "链接无效", "This link does not work"},
		{"/%s/subscribe", "取消勾选不想看的主题", "Untick what you do not want"},
	} {
		r := e.do(nil, "GET", fmt.Sprintf(c.path, "keji"), nil)
		if !strings.Contains(r.body, c.zh) || !strings.Contains(r.body, `lang="zh-CN"`) {
			t.Errorf("zh %s lacks %q", c.path, c.zh)
		}
		if c.en != "" {
			if r := e.do(nil, "GET", fmt.Sprintf(c.path, "weekly"), nil); !strings.Contains(r.body, c.en) || !strings.Contains(r.body, `lang="en"`) {
				t.Errorf("en %s lacks %q", c.path, c.en)
			}
		}
	}
}

// A list's template directory overrides pages file by file.
func TestListTemplateOverride(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/web", 0o755); err != nil {
		t.Fatal(err)
	}
	custom := `{{define "content"}}<h1>Our own form</h1><form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"></form>{{end}}`
	if err := os.WriteFile(dir+"/web/subscribe.html", []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.subs.UpdateList(context.Background(), "weekly", func(l *tidings.List) error { l.TemplateDir = dir; return nil }); err != nil {
		t.Fatal(err)
	}
	r := e.do(nil, "GET", "/weekly/subscribe", nil)
	if r.code != 200 || !strings.Contains(r.body, "Our own form") || !strings.Contains(r.body, `<html lang="en">`) {
		t.Errorf("override: %d\n%s", r.code, r.body)
	}
	if r := e.do(nil, "GET", "/keji/subscribe", nil); strings.Contains(r.body, "Our own form") {
		t.Error("override leaked to another list")
	}
}

func BenchmarkSubscribePage(b *testing.B) {
	e := newEnv(b)
	req := httptest.NewRequest("GET", "/weekly/subscribe", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// One-click unsubscribes, each a real SQLite write.
func BenchmarkOneClickUnsubscribe(b *testing.B) {
	e := newEnv(b)
	s := e.addSub(e.en, "bench@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	path := "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := e.subs.SetStatus(ctx, e.en.ID, s.ID, tidings.StatusConfirmed); err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest("POST", path, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		b.StartTimer()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// forge changes one character well inside a link's token. Changing the
// last characters is not enough: the final base32 character carries
// padding bits, so a replacement can decode to the same bytes and the
// "forged" link would (rarely) verify.
func forge(path string) string {
	i := len(path) - 6
	c := byte('a')
	if path[i] == 'a' {
		c = 'b'
	}
	return path[:i] + string(c) + path[i+1:]
}
