package console_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/ops"
)

var noShots = flag.Bool("no-screenshots", false, "do not rewrite docs/screenshots/console-*.png")

// tab is one browser at one width, driving the console of one env.
type tab struct {
	t     *testing.T
	e     *env
	ctx   chromedpCtx
	name  string // desk or phone
	w, h  int64
	shots map[string]bool
}

type chromedpCtx = interface {
	Deadline() (time.Time, bool)
	Done() <-chan struct{}
	Err() error
	Value(any) any
}

func (e *env) tab(t *testing.T, name string, w, h int64) *tab {
	testpeers.ChromiumBinary(t)
	ctx := testpeers.Chromium(t, chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(int(w), int(h)))
	tb := &tab{t: t, e: e, ctx: ctx, name: name, w: w, h: h, shots: map[string]bool{}}
	tb.run("viewport", chromedp.EmulateViewport(w, h))
	return tb
}

func (tb *tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
}

func (tb *tab) text(css string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		tb.t.Fatalf("read %s (%s): %v", css, tb.name, err)
	}
	return strings.TrimSpace(s)
}

func evalJS[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s (%s): %v", js, tb.name, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds.
func (tb *tab) wait(what, cond string, timeout time.Duration) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		tb.t.Fatalf("%s (%s): %s never held: %v", what, tb.name, cond, err)
	}
}

// waitReload polls a condition on a page that reloads itself (the
// progress page does when the send is over).
func (tb *tab) waitReload(what, cond string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s (%s): %s never held (%v)", what, tb.name, cond, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// check looks at the page as a person would: nothing wider than the
// screen, the language attribute, a main landmark and a skip link. Then,
// unless -no-screenshots, it writes docs/screenshots/console-PAGE-WIDTH.png.
func (tb *tab) check(page string) {
	tb.t.Helper()
	if evalJS[bool](tb, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
		tb.t.Errorf("%s (%s): the page is wider than the screen (%d px)", page, tb.name, tb.w)
	}
	if lang := evalJS[string](tb, `document.documentElement.lang`); lang != "zh-CN" {
		tb.t.Errorf("%s: lang=%q", page, lang)
	}
	if !evalJS[bool](tb, `!!document.querySelector('main#main') && !!document.querySelector('a.skip[href="#main"]')`) {
		tb.t.Errorf("%s: no main landmark or skip link", page)
	}
	// Every form control has a label (or is a button or hidden).
	if unl := evalJS[[]string](tb, `Array.from(document.querySelectorAll('input:not([type=hidden]),select,textarea')).filter(el =>
		!(el.labels && el.labels.length) && !el.getAttribute('aria-label')).map(el => el.name || el.id)`); len(unl) > 0 {
		tb.t.Errorf("%s: controls without a label: %v", page, unl)
	}
	if low := evalJS[[]string](tb, contrastJS); len(low) > 0 {
		tb.t.Errorf("%s (%s): text below WCAG AA contrast: %v", page, tb.name, low)
	}
	if *noShots || tb.shots[page] {
		return
	}
	tb.shots[page] = true
	png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console-"+page+"-"+tb.name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// contrastJS lists visible text whose contrast with its background is
// below WCAG AA (4.5:1, or 3:1 for large text). The background is the
// nearest ancestor's opaque colour; disabled controls are exempt.
const contrastJS = `(() => {
	const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
	const lum = c => { const v = c.slice(0, 3).map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4) }); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2] };
	const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c } return [255, 255, 255] };
	const out = [];
	for (const el of document.querySelectorAll('body *')) {
		if (el.closest('[disabled], .sr, iframe, .skip')) continue;
		const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
		if (!own) continue;
		const r = el.getBoundingClientRect(); if (!r.width || !r.height) continue;
		const cs = getComputedStyle(el);
		const a = lum(rgb(cs.color)), b = lum(bg(el));
		const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight) >= 700;
		const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
		if (ratio < need) out.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + el.textContent.trim().slice(0, 20) + '" ' + ratio.toFixed(2));
	}
	return out.slice(0, 10);
})()`

func TestEditorJourneyDesk(t *testing.T)  { editorJourney(t, "desk", 1280, 800) }
func TestEditorJourneyPhone(t *testing.T) { editorJourney(t, "phone", 390, 844) }

// editorJourney is issue 11's "done when": an editor who never used a
// terminal signs in through the form, imports the sample bulletin, fixes
// a tag and watches the audience change, looks at the mail as two
// readers, sends a test copy (it arrives in Mailpit), schedules the issue,
// sends it now and watches it go out, and finds the figures on the home
// page — in Chinese, at desk or phone width.
func editorJourney(t *testing.T, width string, w, h int64) {
	testpeers.ChromiumBinary(t)
	e := newEnv(t, envOpts{mail: true})
	tb := e.tab(t, width, w, h)
	base := e.ts.URL

	tb.run("open the console",
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	)
	if !strings.HasPrefix(evalJS[string](tb, `location.pathname + location.search`), "/admin/signin?next=") {
		t.Fatal("the console did not send a signed-out browser to the sign-in page")
	}
	tb.run("switch to Chinese",
		chromedp.Click(chromedp.CSS(`form[action="/admin/lang"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] #email`)),
	)
	tb.check("signin")
	// The keyboard's first stop is the skip link, and it shows.
	tb.run("press Tab", chromedp.KeyEvent("\t"))
	if !evalJS[bool](tb, `document.activeElement.classList.contains('skip') && document.activeElement.getBoundingClientRect().left >= 0`) {
		t.Error("Tab does not reach a visible skip link first")
	}
	tb.run("sign in",
		chromedp.SendKeys(chromedp.CSS("#email"), editorEmail),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".cards")),
	)
	if got := tb.text("h1"); got != "我的刊物" {
		t.Errorf("home heading %q", got)
	}
	if got := tb.text("header .listname"); got != "科技情报参考" {
		t.Errorf("header list %q", got)
	}

	// Import: upload the sample file.
	abs, _ := filepath.Abs("testdata/keji-qingbao-2024-07.md")
	tb.run("open the import page",
		chromedp.Click(chromedp.CSS(`.card a[href="/admin/lists/keji/import"]`)),
		chromedp.WaitVisible(chromedp.CSS("#file")),
	)
	tb.check("import")
	// A mistake first: the message names the line and shows it.
	evalJS[bool](tb, "(document.getElementById('source').value = '# 测试\\n\\n2024年第1期\\n\\n## 第一篇 {foo=bar}\\n\\n正文\\n', true)")
	tb.run("paste a broken issue",
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS("#import-error")),
	)
	if got := tb.text("#import-error"); !strings.Contains(got, "第 5 行") || !strings.Contains(got, "## 第一篇 {foo=bar}") {
		t.Errorf("import error %q", got)
	}
	tb.check("import-error")
	evalJS[bool](tb, `(document.getElementById('source').value = '', true)`)
	tb.run("upload the bulletin",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{abs}),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(".article-list")),
	)
	if n := evalJS[int](tb, `document.querySelectorAll('.article-list > li').length`); n != 5 {
		t.Fatalf("%d articles after import, want 5", n)
	}
	id := evalJS[string](tb, `location.pathname.split('/')[3]`)
	issuePath := "/admin/issues/" + id
	aud := func(pos int) string { return tb.text(fmt.Sprintf(`[data-aud="%d"]`, pos)) }
	if aud(2) != "3" || tb.text("#aud-recipients") != "5" || tb.text("#aud-skipped") != "0" {
		t.Fatalf("audience after import: article 2 %s, issue %s, skipped %s", aud(2), tb.text("#aud-recipients"), tb.text("#aud-skipped"))
	}
	tb.check("issue")

	// Fix a tag: article 2 is for eldercare readers, not biomed ones. The
	// figures change in place as the boxes are clicked.
	tb.run("add eldercare to article 2", chromedp.Click(chromedp.CSS(`#article-2 input[value="eldercare"]`)))
	tb.wait("article 2 reaches the eldercare reader", `document.querySelector('[data-aud="2"]').textContent === "4"`, 10*time.Second)
	tb.run("take biomed off article 2", chromedp.Click(chromedp.CSS(`#article-2 input[value="biomed"]`)))
	tb.wait("the biomed readers get nothing now", `document.querySelector('[data-aud="2"]').textContent === "2" && document.getElementById('aud-skipped').textContent === "2"`, 10*time.Second)
	if got := tb.text("#aud-recipients"); got != "3" {
		t.Errorf("readers of the issue after the retag: %s, want 3", got)
	}
	if chips := tb.text("#article-2 .chips"); !strings.Contains(chips, "养老科技") || strings.Contains(chips, "生物医药") {
		t.Errorf("article 2 chips %q", chips)
	}
	d, err := e.svc.Issue(bg, ops.CLI(), mustID(t, id))
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Issue.Articles[1]; !slices.Equal(a.Topics, []string{"eldercare"}) || a.TaggedBy != tidings.TaggedByHand {
		t.Fatalf("article 2 stored as %v by %s", a.Topics, a.TaggedBy)
	}
	// The page after a reload agrees with the live figures.
	tb.run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".article-list")))
	if aud(2) != "2" || tb.text("#aud-skipped") != "2" {
		t.Errorf("after reload: article 2 %s, skipped %s", aud(2), tb.text("#aud-skipped"))
	}

	// Preview as two readers: each sees only their articles.
	articles := func() []int {
		return evalJS[[]int](tb, `Array.from(document.querySelectorAll('#pv-articles li[value]')).map(li => li.value)`)
	}
	tb.run("look for the eldercare reader", chromedp.SendKeys(chromedp.CSS(".side #pv-email"), "care@"))
	tb.wait("the address is suggested", `!!document.querySelector('#pv-suggest option[value="care@readers.example"]')`, 10*time.Second)
	tb.run("preview as the eldercare reader",
		chromedp.SendKeys(chromedp.CSS(".side #pv-email"), "readers.example"),
		chromedp.Submit(chromedp.CSS(".side #pv-email")),
		chromedp.WaitVisible(chromedp.CSS("#preview-frame")),
	)
	if got := articles(); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("care@ gets articles %v, want [1 2]", got)
	}
	if txt := tb.text("#pv-text"); !strings.Contains(txt, "南京市以科技创新驱动提升生物医药产业能级") || strings.Contains(txt, "滁州市链式推动企业科技成果转化") {
		t.Errorf("care@'s text part holds the wrong articles")
	}
	if width == "phone" {
		tb.run("phone width", chromedp.Click(chromedp.CSS(`a[data-width="phone"]`)))
		tb.wait("the frame narrows", `document.getElementById('frame-box').classList.contains('phone')`, 5*time.Second)
	}
	tb.check("preview")
	evalJS[bool](tb, `(document.getElementById('pv-email').value = '', true)`)
	tb.run("preview as the transfer reader",
		chromedp.SendKeys(chromedp.CSS("#pv-email"), "transfer@readers.example"),
		chromedp.Submit(chromedp.CSS("#pv-email")),
		chromedp.WaitVisible(chromedp.CSS(`#pv-articles li[value="3"]`)),
	)
	if got := articles(); !slices.Equal(got, []int{3, 4, 5}) {
		t.Errorf("transfer@ gets articles %v, want [3 4 5]", got)
	}
	if txt := tb.text("#pv-text"); strings.Contains(txt, "南京市以科技创新驱动提升生物医药产业能级") || !strings.Contains(txt, "滁州市链式推动企业科技成果转化") {
		t.Errorf("transfer@'s text part holds the wrong articles")
	}

	// A test copy to oneself arrives in Mailpit.
	tb.run("send a test copy",
		chromedp.Navigate(base+issuePath),
		chromedp.WaitVisible(chromedp.CSS("#test-to")),
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := tb.text("p.notice"); got != "测试邮件已发送，请查收。" {
		t.Errorf("after the test copy: %q", got)
	}
	e.waitMail(t, editorEmail, 1)

	// Schedule for tomorrow 08:00 in the list's zone; the header shows it.
	sh, _ := time.LoadLocation("Asia/Shanghai")
	at := time.Now().In(sh).Add(24 * time.Hour)
	at = time.Date(at.Year(), at.Month(), at.Day(), 8, 0, 0, 0, sh)
	evalJS[bool](tb, `(document.getElementById('at').value = '`+at.Format("2006-01-02T15:04")+`', true)`)
	tb.run("schedule",
		chromedp.Click(chromedp.CSS(`form[action$="/schedule"] button`)),
	)
	tb.waitReload("the schedule is saved", `location.search.includes('done=scheduled')`, 10*time.Second)
	if got := tb.text("header .next"); !strings.Contains(got, at.Format("2006-01-02 15:04")) || !strings.Contains(got, "Asia/Shanghai") {
		t.Errorf("header after scheduling: %q", got)
	}
	ss, err := e.svc.Schedules(bg, ops.CLI(), "keji")
	if err != nil || len(ss) != 1 || !ss[0].At.Equal(at) {
		t.Fatalf("schedules %+v %v, want one at %v", ss, err, at)
	}

	// Send now, behind a confirmation that states the number of readers.
	tb.run("open the send confirmation",
		chromedp.Click(chromedp.CSS(`a[href="`+issuePath+`/send"]`)),
		chromedp.WaitVisible(chromedp.CSS("#send-confirm")),
	)
	if got := tb.text("#send-recipients"); got != "将发给 3 位读者。" {
		t.Errorf("confirmation says %q", got)
	}
	tb.check("send")
	tb.run("send", chromedp.Click(chromedp.CSS("#send-confirm")), chromedp.WaitVisible(chromedp.CSS("#progress")))
	tb.waitReload("the send is done", `!!document.getElementById('pg-state') && document.getElementById('pg-state').textContent === "已完成"`, 60*time.Second)
	if got := tb.text("#pg-sent"); got != "3" {
		t.Errorf("sent %s, want 3", got)
	}
	tb.check("progress")
	e.waitMail(t, "", 4) // the test copy and three readers' copies
	for _, r := range []string{"all@readers.example", "care@readers.example", "transfer@readers.example"} {
		e.waitMail(t, r, 1)
	}

	// The figures on the home page.
	tb.run("home", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(".cards table.figures")))
	if got := tb.text(".figures tbody td.n"); got != "3" {
		t.Errorf("home: delivered %q, want 3", got)
	}
	if got := tb.text(".count.st-confirmed dd"); got != "5" {
		t.Errorf("home: confirmed readers %q, want 5", got)
	}
	tb.check("home")

	// The other pages an editor works with, for the eye and the screenshots.
	for _, p := range []struct{ page, path, wait string }{
		{"issues", "/admin/lists/keji/issues", "table"},
		{"subscribers", "/admin/lists/keji/subscribers", "#q"},
		{"topics", "/admin/lists/keji/topics", "#kw"},
		{"schedules", "/admin/schedules", "#s-cron"},
	} {
		tb.run(p.page, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)))
		tb.check(p.page)
	}
}

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("id %q", s)
	}
	return n
}

// waitMail waits until Mailpit holds at least n messages to addr ("" =
// any address).
func (e *env) waitMail(t *testing.T, addr string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var got struct {
			Messages []struct {
				Subject string
				To      []struct{ Address string }
			} `json:"messages"`
		}
		res, err := http.Get(e.mp.API + "/api/v1/messages?limit=500")
		if err == nil {
			json.NewDecoder(res.Body).Decode(&got)
			res.Body.Close()
		}
		c := 0
		for _, m := range got.Messages {
			for _, to := range m.To {
				if addr == "" || strings.EqualFold(to.Address, addr) {
					c++
					break
				}
			}
		}
		if c >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Mailpit holds %d messages to %q, want %d", c, addr, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
