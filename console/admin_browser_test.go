package console_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings/internal/testpeers"
)

// The admin's pages in Chromium, in Chinese, at desk and phone width:
// each fits the screen, every control has a label, and the screenshots
// in docs/screenshots show them.
func TestAdminPagesInChromium(t *testing.T) {
	testpeers.ChromiumBinary(t)
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(adminEmail)
	must(t, b.post("/admin/tokens", url.Values{"name": {"ci-bot"}, "role": {"editor"}, "lists": {"keji"}}), 201, "token")
	must(t, b.post("/admin/schedules", url.Values{"list": {"keji"}, "cron": {"0 8 * * 1"}}), 303, "recurring")
	must(t, b.post("/admin/lang", url.Values{"lang": {"zh"}}), 303, "language")
	pages := []struct{ page, path, wait string }{
		{"users", "/admin/users", "#u-name"},
		{"tokens", "/admin/tokens", "#t-name"},
		{"audit", "/admin/audit", "table"},
		{"lists", "/admin/lists", "#l-slug"},
		{"list", "/admin/lists/keji/settings", "#l-name"},
		{"subscriber", "/admin/subscribers/care@readers.example", "#h-history"},
		{"subscriber-import", "/admin/lists/keji/subscribers/import", "#file"},
		{"bounces", "/admin/lists/keji/bounces", "#kind"},
		{"topics-admin", "/admin/lists/keji/topics?keywords=" + url.QueryEscape("宁波"), "#kw-hits"},
		{"issue-admin", fmt.Sprintf("/admin/issues/%d", is.ID), ".article-list"},
	}
	for _, v := range []struct {
		name string
		w, h int64
	}{{"desk", 1280, 800}, {"phone", 390, 844}} {
		tb := e.tab(t, v.name, v.w, v.h)
		tb.run("sign in",
			chromedp.Navigate(e.ts.URL+"/admin/signin"),
			chromedp.SendKeys(chromedp.CSS("#email"), adminEmail),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(".cards")),
		)
		for _, p := range pages {
			tb.run(p.page, chromedp.Navigate(e.ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
			if p.page == "issue-admin" {
				continue // the editor's journey shoots the issue page
			}
			tb.check(p.page)
		}
	}
}
