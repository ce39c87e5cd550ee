package console_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// payload would run if any page put a name into HTML unescaped.
const payload = `<img src=x onerror="window.pwned='img'"><script>window.pwned='script'</script>`

// HTML in list, topic, issue, article and subscriber names is text on
// every console page: in Chromium nothing runs and no injected element
// exists, while the text itself shows.
func TestNamesAreEscapedEverywhere(t *testing.T) {
	testpeers.ChromiumBinary(t)
	e := newEnv(t, envOpts{})
	cli := ops.CLI()
	l := &tidings.List{Slug: "evil", Name: "List " + payload, From: "Evil <evil@example.org>", Lang: tidings.LangZH, TZ: "Asia/Shanghai"}
	if err := e.svc.CreateList(bg, cli, l); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddTopic(bg, cli, "evil", &tidings.Topic{Slug: "t1", Name: "Topic " + payload, Keywords: []string{"kw"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddSubscriber(bg, cli, "evil", "r@readers.example", "Reader "+payload, subscribers.AllTopics); err != nil {
		t.Fatal(err)
	}
	src := "# Issue " + payload + "\n\n2024年第1期\n\n## Article " + payload + " kw\n\nBody " + payload + "\n"
	is := e.importAs("evil", "evil.md", []byte(src))
	id := fmt.Sprint(is.ID)
	at := time.Now().Add(48 * time.Hour).Format("2006-01-02 15:04")
	if _, err := e.svc.Schedule(bg, cli, is.ID, at, ""); err != nil {
		t.Fatal(err)
	}

	// Over HTTP: the raw tags never appear in a console page.
	b := e.browser()
	b.signIn(adminEmail)
	pages := []string{
		"/admin/", "/admin/lists", "/admin/lists/evil/settings", "/admin/lists/evil/issues", "/admin/issues/" + id,
		"/admin/issues/" + id + "/preview?email=r@readers.example", "/admin/issues/" + id + "/send", "/admin/issues/" + id + "/progress",
		"/admin/lists/evil/topics?keywords=kw", "/admin/lists/evil/subscribers", "/admin/subscribers/r@readers.example",
		"/admin/schedules", "/admin/audit", "/admin/users",
	}
	for _, p := range pages {
		a := b.get(p)
		if a.status != 200 {
			t.Errorf("GET %s: %d", p, a.status)
			continue
		}
		if strings.Contains(a.body, "<img src=x") || strings.Contains(a.body, "<script>window.pwned") {
			t.Errorf("GET %s: the payload is in the HTML unescaped", p)
		}
	}

	// In Chromium: nothing ran, nothing was injected, the text shows.
	tb := e.tab(t, "desk", 1280, 800)
	tb.run("sign in",
		chromedp.Navigate(e.ts.URL+"/admin/signin"),
		chromedp.SendKeys(chromedp.CSS("#email"), adminEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".cards")),
	)
	for _, p := range pages {
		tb.run(p, chromedp.Navigate(e.ts.URL+p), chromedp.WaitReady(chromedp.CSS("main")))
		time.Sleep(50 * time.Millisecond) // let an onerror fire, if one could
		if v := evalJS[string](tb, `String(window.pwned)`); v != "undefined" {
			t.Errorf("%s: injected script ran (%s)", p, v)
		}
		if n := evalJS[int](tb, `document.querySelectorAll('img[src="x"], main script').length`); n != 0 {
			t.Errorf("%s: %d injected elements", p, n)
		}
	}
	tb.run("issue page", chromedp.Navigate(e.ts.URL+"/admin/issues/"+id), chromedp.WaitVisible(chromedp.CSS(".article-list")))
	if v := evalJS[string](tb, `document.querySelector('#title-1').value`); !strings.Contains(v, "<img src=x") {
		t.Errorf("article title shown as %q, want the text as typed", v)
	}
	if !strings.Contains(tb.text("header .listname"), "<img src=x") {
		t.Error("the list name is not shown as text in the header")
	}
}

// The preview frame cannot run script: even a list whose own template puts
// a script into the mail gets a sandboxed frame (sandbox="" and the
// frame's CSP) in which it never runs.
func TestPreviewFrameRunsNoScript(t *testing.T) {
	testpeers.ChromiumBinary(t)
	e := newEnv(t, envOpts{})
	dir := t.TempDir()
	tpl, err := os.ReadFile("../templates/email/newsletter.html")
	if err != nil {
		t.Fatal(err)
	}
	evil := strings.Replace(string(tpl), "</body>", `<script>document.title="PWNED";try{parent.postMessage("pwned","*")}catch(e){};try{top.pwned=1}catch(e){}</script>
<img src="data:," onerror="parent.postMessage('pwned-img','*')" onload="parent.postMessage('pwned-img','*')"></body>`, 1)
	if evil == string(tpl) {
		t.Fatal("no </body> in the newsletter template")
	}
	if err := os.MkdirAll(filepath.Join(dir, "email"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "email", "newsletter.html"), []byte(evil), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateList(bg, ops.CLI(), "keji", func(l *tidings.List) error { l.TemplateDir = dir; return nil }); err != nil {
		t.Fatal(err)
	}
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	frame := fmt.Sprintf("/admin/issues/%d/preview/frame?topics=all", is.ID)
	if a := b.get(frame); !strings.Contains(a.body, `<script>document.title="PWNED"`) {
		i := strings.Index(a.body, "</body>")
		t.Fatalf("the test template's script is not in the preview (%d): the test would prove nothing\n%s", a.status, a.body[max(0, i-400):])
	}

	tb := e.tab(t, "desk", 1280, 800)
	tb.run("sign in",
		chromedp.Navigate(e.ts.URL+"/admin/signin?next="+url.QueryEscape(fmt.Sprintf("/admin/issues/%d", is.ID))),
		chromedp.SendKeys(chromedp.CSS("#email"), editorEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".article-list")),
	)
	// Listen for the frame's message, then load the preview page's frame
	// in place (the page itself stays, with its listener).
	evalJS[bool](tb, `(window.addEventListener('message', e => { window.pwned = String(e.data) }), true)`)
	evalJS[bool](tb, fmt.Sprintf(`(() => {
		const f = document.createElement('iframe');
		f.setAttribute('sandbox', '');
		f.id = 'probe';
		f.src = %q;
		document.body.appendChild(f);
		return true;
	})()`, frame))
	tb.wait("the frame loads", `(() => { const f = document.getElementById('probe'); return !!f && performance.getEntriesByName(f.src).length > 0 })()`, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if v := evalJS[string](tb, `String(window.pwned)`); v != "undefined" {
		t.Errorf("script in the sandboxed frame ran: %s", v)
	}
	if title := evalJS[string](tb, `document.title`); strings.Contains(title, "PWNED") {
		t.Error("the frame changed the page's title")
	}
	// The console's own preview page, as the editor opens it.
	tb.run("preview page", chromedp.Navigate(e.ts.URL+fmt.Sprintf("/admin/issues/%d/preview", is.ID)), chromedp.WaitVisible(chromedp.CSS("#preview-frame")))
	if s := evalJS[string](tb, `document.getElementById('preview-frame').getAttribute('sandbox')`); s != "" {
		t.Errorf("sandbox=%q", s)
	}
	// Even opened on its own, outside any frame, the frame's answer runs
	// nothing: its CSP says sandbox.
	tb.run("frame alone", chromedp.Navigate(e.ts.URL+frame), chromedp.WaitReady(chromedp.CSS("body")))
	time.Sleep(300 * time.Millisecond)
	if title := evalJS[string](tb, `document.title`); strings.Contains(title, "PWNED") {
		t.Error("the frame's script ran when opened directly")
	}
}
