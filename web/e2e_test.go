package web_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

var screenshots = flag.Bool("screenshots", false, "write screenshots of the reader pages to docs/screenshots")

// newBrowser starts headless Chromium (testpeers.Chromium: fresh profile,
// flags for this machine) in a fixed desktop-size window without
// scrollbars, so pages and screenshots render at one known size.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return testpeers.Chromium(t, chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1280, 900))
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("read %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func heading(t *testing.T, ctx context.Context) string {
	t.Helper()
	return text(t, ctx, "h1")
}

// A reader's whole journey in a real browser against the real handler on a
// real HTTP server: subscribe, confirm from the mail, change topics,
// unsubscribe; then a mailbox provider's one-click POST from the
// List-Unsubscribe header of a real issue.
func TestBrowserJourney(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)

	run(t, ctx, "fill the form",
		chromedp.Navigate(e.ts.URL+"/weekly/subscribe"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "browser@example.net"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Brow Ser"),
		chromedp.Click(chromedp.CSS("#topic-finance")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.icon`)),
	)
	if h := heading(t, ctx); h != "Check your inbox" {
		t.Fatalf("after submit: %q", h)
	}
	ss := e.subscription(e.en, "browser@example.net")
	if ss.Status != tidings.StatusPending || strings.Join(ss.Topics, ",") != "biomed,energy" {
		t.Fatalf("after submit: %+v", ss)
	}

	ms := e.mails()
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	run(t, ctx, "open the confirmation link",
		chromedp.Navigate(linkIn(t, ms[0], "confirm")),
		chromedp.WaitVisible(chromedp.CSS(`ul.chips`)),
	)
	if h := heading(t, ctx); h != "You are subscribed" {
		t.Fatalf("confirm page: %q", h)
	}
	if e.subscription(e.en, "browser@example.net").Status != tidings.StatusConfirmed {
		t.Fatal("not confirmed")
	}

	run(t, ctx, "change topics",
		chromedp.Click(chromedp.CSS(`a.button[href*="/preferences/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#topic-energy`)),
		chromedp.Click(chromedp.CSS(`#topic-energy`)),
		chromedp.Click(chromedp.CSS(`#topic-finance`)),
		chromedp.Click(chromedp.CSS(`button[value=save]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	notice := text(t, ctx, "p.notice")
	if notice != "Your changes are saved." {
		t.Errorf("notice %q", notice)
	}
	ss = e.subscription(e.en, "browser@example.net")
	if strings.Join(ss.Topics, ",") != "biomed,finance" {
		t.Fatalf("topics after save: %+v", ss)
	}

	p, _ := e.subs.Get(context.Background(), "browser@example.net")
	run(t, ctx, "unsubscribe from the page",
		chromedp.Navigate(e.ts.URL+"/weekly/unsubscribe/"+e.tok(token.Unsubscribe, e.en, p.ID)),
		chromedp.WaitVisible(chromedp.CSS(`button.big`)),
	)
	if st := e.subscription(e.en, "browser@example.net").Status; st != tidings.StatusConfirmed {
		t.Fatalf("showing the unsubscribe page changed the status to %s", st)
	}
	run(t, ctx, "press the button",
		chromedp.Click(chromedp.CSS(`button.big`)),
		chromedp.WaitVisible(chromedp.CSS(`p.icon.ok`)),
	)
	if h := heading(t, ctx); h != "You are unsubscribed" {
		t.Fatalf("after the button: %q", h)
	}
	if st := e.subscription(e.en, "browser@example.net").Status; st != tidings.StatusUnsubscribed {
		t.Fatalf("status %s after the button", st)
	}

	// A mailbox provider's one-click: the URL from the List-Unsubscribe
	// header of a real issue, a plain POST, no cookie, no redirect.
	reader := e.addSub(e.en, "provider@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	_, sent, _ := importIssue(t, e)
	topics, _ := e.subs.Topics(context.Background(), e.en.ID)
	ed, err := (&render.Renderer{Links: tidings.Links{Base: e.ts.URL}, Signer: e.signer, Now: e.clk.Now}).Prepare(e.en, topics, sent)
	if err != nil {
		t.Fatal(err)
	}
	var msg bytes.Buffer
	if _, err := ed.WriteMessage(&msg, tidings.Recipient{SubscriberID: reader.ID, Email: reader.Email, AllTopics: true}, render.MessageOptions{}); err != nil {
		t.Fatal(err)
	}
	hdr := regexp.MustCompile(`(?m)^List-Unsubscribe: <(http[^>]+)>`).FindSubmatch(msg.Bytes())
	if hdr == nil || !bytes.Contains(msg.Bytes(), []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Click")) {
		t.Fatalf("issue has no one-click List-Unsubscribe:\n%s", msg.Bytes()[:min(2000, msg.Len())])
	}
	req, _ := http.NewRequest("POST", string(hdr[1]), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "GoogleOneClickUnsubscribe")
	res, err := (&http.Transport{}).RoundTrip(req) // no jar, no redirect following
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Location") != "" || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("one-click: %d %v", res.StatusCode, res.Header)
	}
	if st := e.subscription(e.en, "provider@example.net").Status; st != tidings.StatusUnsubscribed {
		t.Errorf("one-click left status %s", st)
	}
}

// importIssue imports the sample issue into the English list and marks it sent.
func importIssue(t *testing.T, e *env) (string, *tidings.Issue, error) {
	t.Helper()
	ctx := context.Background()
	src, err := os.ReadFile("../issues/testdata/explicit.md")
	if err != nil {
		t.Fatal(err)
	}
	topics, _ := e.subs.Topics(ctx, e.en.ID)
	is, err := e.iss.Import(ctx, e.en.ID, "explicit.md", src, topics)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.iss.MarkSent(ctx, is.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	full, err := e.iss.Get(ctx, is.ID)
	if err != nil {
		t.Fatal(err)
	}
	return "", full, nil
}

// TestScreenshots writes the pages in both languages at phone and desktop
// width to docs/screenshots (go test ./web -run TestScreenshots -screenshots).
func TestScreenshots(t *testing.T) {
	if !*screenshots {
		t.Skip("pass -screenshots to write docs/screenshots")
	}
	e := newEnv(t)
	ctx := newBrowser(t)
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	type viewport struct {
		name string
		w, h int64
	}
	views := []viewport{{"phone", 390, 844}, {"desktop", 1280, 760}}
	issueNo := map[*tidings.List]int{}
	for list, file := range map[*tidings.List]string{e.en: "../issues/testdata/explicit.md", e.zh: "../testdata/keji-qingbao-2024-07.md"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		topics, _ := e.subs.Topics(context.Background(), list.ID)
		is, err := e.iss.Import(context.Background(), list.ID, filepath.Base(file), src, topics)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.iss.MarkSent(context.Background(), is.ID, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
		issueNo[list] = is.Number
	}
	for _, list := range []*tidings.List{e.en, e.zh} {
		email := "reader-" + list.Slug + "@example.net"
		sub := e.addSub(list, email, tidings.StatusPending, subscribers.TopicChoice{Slugs: []string{topicsOf(t, e, list)[0], topicsOf(t, e, list)[1]}})
		if err := e.subs.SetName(context.Background(), sub.ID, map[tidings.Lang]string{tidings.LangEN: "Ada", tidings.LangZH: "李雷"}[list.Lang]); err != nil {
			t.Fatal(err)
		}
		confirm := func() string {
			return e.signer.Sign(token.Claims{Purpose: token.Confirm, SubscriberID: sub.ID, ListID: list.ID, Expires: e.clk.Now().Add(time.Hour), Nonce: token.NewNonce()})
		}
		pages := []struct{ name, path, wait string }{
			{"subscribe", "/" + list.Slug + "/subscribe", "#email"},
			{"confirm", "/" + list.Slug + "/confirm/" + confirm(), "ul.chips"},
			{"preferences", "/" + list.Slug + "/preferences/" + e.tok(token.Preferences, list, sub.ID) + "?done=saved", "p.notice"},
			{"unsubscribe", "/" + list.Slug + "/unsubscribe/" + e.tok(token.Unsubscribe, list, sub.ID), "button.big"},
			{"archive", "/" + list.Slug + "/archive", "ol.issues"},
			{"issue", "/" + list.Slug + "/archive/" + strconv.Itoa(issueNo[list]), "article.issue"},
		}
		for _, v := range views {
			for _, pg := range pages {
				path := pg.path
				if pg.name == "confirm" {
					e.subs.SetStatus(context.Background(), list.ID, sub.ID, tidings.StatusPending)
					path = "/" + list.Slug + "/confirm/" + confirm()
				}
				run(t, ctx, pg.name,
					chromedp.EmulateViewport(v.w, v.h),
					chromedp.Navigate(e.ts.URL+path),
					chromedp.WaitVisible(chromedp.CSS(pg.wait)),
				)
				// The whole page, except an issue: its first screen shows the look.
				shot := chromedp.FullScreenshot(100)
				if pg.name == "issue" {
					shot = chromedp.CaptureScreenshot()
				}
				png, err := chromedp.Run(ctx, shot)
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(dir, string(list.Lang)+"-"+pg.name+"-"+v.name+".png")
				if err := os.WriteFile(name, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s (%d bytes)", name, len(png))
			}
		}
		// The form answering a mistake: the message sits at its field.
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.EmulateViewport(views[0].w, views[0].h),
			chromedp.Navigate(e.ts.URL + "/" + list.Slug + "/subscribe"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
		}
		for _, slug := range topicsOf(t, e, list) {
			steps = append(steps, chromedp.Click(chromedp.CSS("#topic-"+slug)))
		}
		steps = append(steps, chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#topics-error")))
		run(t, ctx, "subscribe error", steps...)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, string(list.Lang)+"-subscribe-error-phone.png")
		if err := os.WriteFile(name, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func topicsOf(t *testing.T, e *env, list *tidings.List) []string {
	ts, err := e.subs.Topics(context.Background(), list.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tp := range ts {
		out = append(out, tp.Slug)
	}
	return out
}
