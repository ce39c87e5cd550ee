package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings/smtpsink"
)

// newWebServer wires the real stores, renderer and one-off SMTP sender:
// a JSON subscribe through it puts a confirmation mail with a link under
// --base-url into a real SMTP server, and the link confirms.
func TestNewWebServer(t *testing.T) {
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "news", "--name", "Example News", "--from", "Example News <news@example.org>", "--lang", "en")
	mustRunCLI(t, env, "topic", "add", "ai", "--name", "AI", "--list", "news")
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	var errb bytes.Buffer
	a := NewApp(strings.NewReader(""), io.Discard, &errb, func(string) string { return "" })
	a.cfg = Config{DBPath: env["TIDINGS_DB"], SMTPURLs: []string{"smtp://" + sink.Addr + "?tls=none"}, BaseURL: "https://news.example.org/r", LogFormat: "json"}
	defer a.close()
	ctx := context.Background()
	srv, err := a.newWebServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/r", srv))
	defer ts.Close()

	res, err := http.Get(ts.URL + "/r/news/subscribe")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Contains(page, []byte(`href="/r/static/style.css"`)) {
		t.Fatalf("subscribe page: %d\n%s", res.StatusCode, page)
	}

	req, _ := http.NewRequest("POST", ts.URL+"/r/news/subscribe", strings.NewReader(url.Values{"email": {"reader@example.net"}, "topics": {"ai"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("subscribe: %d", res.StatusCode)
	}
	srv.Wait()
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].From != "news@example.org" {
		t.Fatalf("mails: %+v\nlog: %s", msgs, errb.String())
	}
	m, err := enmime.ReadEnvelope(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`https://news\.example\.org/r/news/confirm/[a-z0-9]+`).FindString(m.Text)
	if link == "" {
		t.Fatalf("no confirm link under the base URL:\n%s", m.Text)
	}
	res, err = http.Get(ts.URL + strings.TrimPrefix(link, "https://news.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("confirm: %d", res.StatusCode)
	}
	out := mustRunCLI(t, env, "sub", "show", "reader@example.net", "--json")
	if !strings.Contains(out, `"confirmed"`) {
		t.Errorf("after confirming: %s", out)
	}
}
