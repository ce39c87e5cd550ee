package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/smtpsink"
)

func browse(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func textOf(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("read %s: %v", css, err)
	}
	return strings.TrimSpace(s)
}

func subStatus(t *testing.T, env map[string]string, email string) string {
	t.Helper()
	var p struct {
		Lists []struct {
			List   string   `json:"list"`
			Status string   `json:"status"`
			Topics []string `json:"topics"`
		} `json:"lists"`
	}
	out := mustRunCLI(t, env, "sub", "show", email, "--json")
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Lists) != 1 {
		t.Fatalf("sub show %s: %v\n%s", email, err, out)
	}
	return p.Lists[0].Status + " " + strings.Join(p.Lists[0].Topics, ",")
}

// A reader's journey in headless Chromium against the real `tidings serve`
// process: subscribe on the form, confirm from the mail the daemon sent
// over SMTP, change topics, unsubscribe from the preference page; then a
// mailbox provider's RFC 8058 one-click POST to the List-Unsubscribe URL
// of an issue that `tidings send` delivered.
func TestServeReaderJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("process tests: -short")
	}
	testpeers.ChromiumBinary(t) // skip before building and starting anything
	bin := buildTidings(t)
	env := testEnv(t)
	dbPath := env["TIDINGS_DB"]
	mustRunCLI(t, env, "list", "add", "news", "--name", "Example News", "--from", "Example News <news@example.org>", "--lang", "en")
	for _, tp := range [][2]string{{"energy", "Energy"}, {"biomed", "Biomedicine"}, {"finance", "Finance"}} {
		mustRunCLI(t, env, "topic", "add", tp[0], "--name", tp[1])
	}
	mustRunCLI(t, env, "sub", "add", "mailbox@example.net", "--topics", "all")

	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	httpAddr := freeAddr(t)
	base := "http://" + httpAddr
	smtpURL := "smtp://" + sink.Addr + "?tls=none"
	srv := startServe(t, bin, "--db", dbPath, "--smtp-url", smtpURL, "--base-url", base, "--http", httpAddr, "--log-format", "json")
	waitFor(t, "/healthz", 20*time.Second, func() bool {
		code, _, _ := httpGet(base + "/healthz")
		return code == http.StatusOK
	})

	ctx := testpeers.Chromium(t)
	browse(t, ctx, "subscribe",
		chromedp.Navigate(base+"/news/subscribe"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "reader@example.net"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Reader"),
		chromedp.Click(chromedp.CSS("#topic-finance")),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("p.icon")),
	)
	if h := textOf(t, ctx, "h1"); h != "Check your inbox" {
		t.Fatalf("after subscribing: %q", h)
	}
	if got := subStatus(t, env, "reader@example.net"); got != "pending biomed,energy" {
		t.Fatalf("after subscribing: %s", got)
	}
	if !sink.Wait(1, 20*time.Second) {
		t.Fatalf("no confirmation mail; log:\n%s", srv.stderr.String())
	}
	m, err := enmime.ReadEnvelope(bytes.NewReader(sink.Messages()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `/news/confirm/[a-z0-9]+`).FindString(m.Text)
	if link == "" {
		t.Fatalf("no confirm link in:\n%s", m.Text)
	}
	browse(t, ctx, "confirm", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("ul.chips")))
	if h := textOf(t, ctx, "h1"); h != "You are subscribed" {
		t.Fatalf("confirm page: %q", h)
	}
	browse(t, ctx, "change topics",
		chromedp.Click(chromedp.CSS(`a.button[href*="/preferences/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#topic-energy")),
		chromedp.Click(chromedp.CSS("#topic-energy")),
		chromedp.Click(chromedp.CSS("#topic-finance")),
		chromedp.Click(chromedp.CSS("button[value=save]")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := subStatus(t, env, "reader@example.net"); got != "confirmed biomed,finance" {
		t.Fatalf("after saving topics: %s", got)
	}
	browse(t, ctx, "unsubscribe",
		chromedp.Click(chromedp.CSS("button[value=unsubscribe]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=resubscribe]")),
	)
	if n := textOf(t, ctx, "p.notice"); n != "You are unsubscribed from Example News." {
		t.Errorf("notice %q", n)
	}
	if got := subStatus(t, env, "reader@example.net"); !strings.HasPrefix(got, "unsubscribed") {
		t.Fatalf("after unsubscribing: %s", got)
	}

	// The issue goes to the one confirmed reader; their mailbox provider
	// then unsubscribes them the RFC 8058 way.
	sink.Reset()
	id := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", "../../issues/testdata/explicit.md"))
	sendEnv := map[string]string{"TIDINGS_DB": dbPath, "TIDINGS_SMTP_URL": smtpURL, "TIDINGS_BASE_URL": base}
	sendCtx, cancelSend := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelSend()
	var sendErr bytes.Buffer
	if code := NewApp(strings.NewReader(""), io.Discard, &sendErr, func(k string) string { return sendEnv[k] }).Run(sendCtx, []string{"send", id}); code != 0 {
		t.Fatalf("send: exit %d: %s", code, sendErr.String())
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "mailbox@example.net" {
		t.Fatalf("send delivered %d messages", len(msgs))
	}
	hdr := regexp.MustCompile(`(?m)^List-Unsubscribe: <(http[^>]+)>`).FindSubmatch(msgs[0].Data)
	if hdr == nil || !bytes.Contains(msgs[0].Data, []byte("List-Unsubscribe-Post: List-Unsubscribe=One-Click")) {
		t.Fatalf("no one-click List-Unsubscribe in the issue")
	}
	req, _ := http.NewRequest("POST", string(hdr[1]), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := (&http.Transport{}).RoundTrip(req) // no cookie jar, no redirects
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Location") != "" {
		t.Errorf("one-click: %d %v", res.StatusCode, res.Header)
	}
	if got := subStatus(t, env, "mailbox@example.net"); !strings.HasPrefix(got, "unsubscribed") {
		t.Errorf("after one-click: %s", got)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("serve exit %d; log:\n%s", code, srv.stderr.String())
	}
}
