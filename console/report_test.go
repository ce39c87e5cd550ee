package console_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/report"
	"github.com/tidings/tidings/report/reporttest"
)

const reportPassword = "correct horse battery staple 42"

// reportEnv is the console over report fixture data (report/reporttest:
// issue 1 sent with bounces, unsubscribes and tracking counters; issue 3
// a draft) on a real HTTP server, with an admin of every list and an
// editor of the list "other" only.
type reportEnv struct {
	ts  *httptest.Server
	svc *ops.Service
}

func newReportEnv(t *testing.T) *reportEnv {
	t.Helper()
	d := reporttest.Fixture(t)
	svc := ops.New(ops.Deps{DB: d})
	h, err := console.New(console.Config{Ops: svc})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ctx := context.Background()
	for _, u := range []ops.NewUser{
		{Email: "admin@example.org", Role: tidings.RoleAdmin, Password: reportPassword},
		{Email: "editor@example.org", Role: tidings.RoleEditor, Lists: []string{"other"}, Password: reportPassword},
	} {
		if _, _, err := svc.AddUser(ctx, ops.CLI(), u); err != nil {
			t.Fatal(err)
		}
	}
	return &reportEnv{ts: ts, svc: svc}
}

// get fetches path as email (signed in through ops.SignIn) in lang.
func (e *reportEnv) get(t *testing.T, email, lang, path string) (*http.Response, string) {
	t.Helper()
	s, err := e.svc.SignIn(context.Background(), email, reportPassword, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: "tidings_session", Value: s.ID})
	req.Header.Set("Accept-Language", lang)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestReportPageShowsFiguresChartAndTables(t *testing.T) {
	e := newReportEnv(t)
	for _, c := range []struct {
		lang string
		want []string
	}{
		{"zh-CN", []string{"前 48 小时每小时的真人点击", "苹果邮件隐私保护代理", "扫描器、安全网关或程序库的 User-Agent", "下载 CSV", "本期后退订", "硬退信 1，软退信 1"}},
		{"en", []string{"Human clicks per hour over the first 48 hours", "Apple Mail Privacy Protection proxy", "scanner, gateway or library user agent", "Download CSV", "Unsubscribed after this issue", "hard 1, soft 1"}},
	} {
		res, body := e.get(t, "admin@example.org", c.lang, "/admin/issues/1/report")
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d\n%s", c.lang, res.StatusCode, body)
		}
		for _, w := range append(c.want, "养老科技", "航天锂电", `<a href="/admin/issues/2/report">#8 Issue eight</a>`, `<span aria-current="page">#7 `, "https://example.org/funds", `href="/admin/issues/1/report.csv"`,
			`role="img"`, `aria-labelledby="chart-title chart-desc"`, `<desc id="chart-desc">`) {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q", c.lang, w)
			}
		}
		if k := untranslated.FindString(body); k != "" {
			t.Errorf("%s: an untranslated key shows: %s", c.lang, k)
		}
		if n := strings.Count(body, "<rect "); n != report.TimelineHours {
			t.Errorf("%s: chart has %d bars, want %d", c.lang, n, report.TimelineHours)
		}
		// a link row: where, target, its article's recipients, human and machine clicks
		if !regexp.MustCompile(`<td>2\.2</td><td class="url"><a href="https://example.org/funds"[^>]*>[^<]*</a></td><td class="n">5</td><td class="n">0</td><td class="n">3</td>`).MatchString(body) {
			t.Errorf("%s: the link table lacks link 2.2 with 5 recipients, 0 human and 3 machine clicks", c.lang)
		}
		// Hour 0 has 3 human clicks on a 0–4 scale: 3/4 of the 198-unit plot.
		if !strings.Contains(body, `height="148.5" fill="#2f6fdb"><title>`) {
			t.Errorf("%s: the first bar is not 3/4 high:\n%s", c.lang, firstRect(body))
		}
		// The data table repeats the chart: 48 rows of hours.
		if got := len(regexp.MustCompile(`<tr><td>\d+</td><td>2026-07-`).FindAllString(body, -1)); got != report.TimelineHours {
			t.Errorf("%s: the chart's table has %d rows, want %d", c.lang, got, report.TimelineHours)
		}
	}
}

// untranslated finds a text key shown as itself (a key missing from the
// catalogs renders as its name).
var untranslated = regexp.MustCompile(`>\s*(report|tab)\.[a-z.]+[^<]*<`)

func firstRect(body string) string {
	i := strings.Index(body, "<rect ")
	if i < 0 {
		return "(no rect)"
	}
	return body[i:min(len(body), i+200)]
}

func TestReportPageOfAnUnsentIssue(t *testing.T) {
	e := newReportEnv(t)
	for _, lang := range []string{"en", "zh"} {
		res, body := e.get(t, "admin@example.org", lang, "/admin/issues/3/report")
		if res.StatusCode != 200 || !strings.Contains(body, map[string]string{"en": "has not been sent yet", "zh": "本期尚未发送"}[lang]) || strings.Contains(body, "<svg") {
			t.Errorf("%s: unsent issue: status %d, want 200 with the note and no chart:\n%s", lang, res.StatusCode, body)
		}
		if k := untranslated.FindString(body); k != "" {
			t.Errorf("%s: unsent issue: an untranslated key shows: %s", lang, k)
		}
	}
}

func TestReportCSVDownload(t *testing.T) {
	e := newReportEnv(t)
	res, body := e.get(t, "admin@example.org", "en", "/admin/issues/1/report.csv")
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "issue-1.csv") {
		t.Errorf("Content-Disposition %q", cd)
	}
	r, err := e.svc.Report(context.Background(), ops.CLI(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	report.WriteCSV(&want, r)
	if body != want.String() {
		t.Errorf("download differs from report.WriteCSV:\n%s", body)
	}
}

func TestReportPageRefusals(t *testing.T) {
	e := newReportEnv(t)
	for _, c := range []struct {
		email, path string
		status      int
	}{
		{"editor@example.org", "/admin/issues/1/report", http.StatusForbidden},     // another list's issue
		{"editor@example.org", "/admin/issues/1/report.csv", http.StatusForbidden}, //
		{"editor@example.org", "/admin/issues/4/report", http.StatusOK},            // its own list's
		{"admin@example.org", "/admin/issues/99/report", http.StatusNotFound},
		{"admin@example.org", "/admin/issues/99/report.csv", http.StatusNotFound},
		{"admin@example.org", "/admin/issues/abc/report", http.StatusNotFound},
	} {
		res, body := e.get(t, c.email, "en", c.path)
		if res.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.email, c.path, res.StatusCode, c.status)
		}
		if c.status != 200 && strings.Contains(body, "养老科技") {
			t.Errorf("%s %s: a refusal shows the report", c.email, c.path)
		}
	}
	// Signed out: to the sign-in page, never the figures.
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(e.ts.URL + "/admin/issues/1/report")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/signin") {
		t.Errorf("signed out: status %d to %q, want 303 to the sign-in page", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestReportPageInChromium signs in through the form in headless Chromium,
// opens the report at desk and phone widths, checks what a reader of the
// page gets (the chart's accessible name, the data table, nothing wider
// than the screen) and writes docs/screenshots/console-report-*.png.
func TestReportPageInChromium(t *testing.T) {
	e := newReportEnv(t)
	s, err := e.svc.SignIn(context.Background(), "admin@example.org", reportPassword, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetLanguage(context.Background(), s.Actor, "zh"); err != nil {
		t.Fatal(err)
	}
	ctx := testpeers.Chromium(t, chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1280, 800))
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(e.ts.URL+"/admin/issues/1/report"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.org"),
		chromedp.SendKeys(chromedp.CSS("#password"), reportPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("svg.chart")),
	); err != nil {
		t.Fatalf("sign in and open the report: %v", err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	for _, v := range []struct {
		name string
		w, h int64
	}{{"desk", 1280, 800}, {"phone", 390, 844}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(v.w, v.h), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("svg.chart"))); err != nil {
			t.Fatal(err)
		}
		name, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const svg = document.querySelector('svg.chart');
			return svg.getAttribute('role') + '|' + document.getElementById(svg.getAttribute('aria-labelledby').split(' ')[0]).textContent;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if name != "img|前 48 小时每小时的真人点击" {
			t.Errorf("%s: chart role and name = %q", v.name, name)
		}
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("%s: the page is wider than the %d px screen", v.name, v.w)
		}
		// The chart fills its box; below 540 px it keeps that width and
		// its box scrolls, so labels stay readable and the page stays put.
		sizes, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[document.querySelector('svg.chart').getBoundingClientRect().width,
			document.querySelector('figure.rep-chart').getBoundingClientRect().width]`))
		if err != nil {
			t.Fatal(err)
		}
		if svgW, boxW := sizes[0], sizes[1]; svgW < 540 || boxW > float64(v.w) || svgW < boxW-1 {
			t.Errorf("%s: chart %.0f px in a %.0f px box on a %d px screen", v.name, svgW, boxW, v.w)
		}
		if *noShots { // journey_test.go's flag
			continue
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "console-report-"+v.name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportPageWhenClicksAreOff(t *testing.T) {
	e := newReportEnv(t)
	if _, err := e.svc.UpdateList(context.Background(), ops.CLI(), "keji", func(l *tidings.List) error {
		l.Clicks = tidings.TrackOff
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, body := e.get(t, "admin@example.org", "en", "/admin/issues/1/report")
	if res.StatusCode != 200 || !strings.Contains(body, "This list does not track clicks.") || strings.Contains(body, "<dt>Click rate</dt>") {
		t.Errorf("clicks off: status %d; want the note and no click rate:\n%s", res.StatusCode, body)
	}
	if !strings.Contains(body, "Tracking: clicks off, opens in aggregate") {
		t.Errorf("clicks off: the tracking line is missing")
	}
}
