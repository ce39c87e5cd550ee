package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/smtpsink"
)

// serve mounts the tracker: a tracked link of a sent message redirects
// to its target, a forged one is 404, the redirect shows in /metrics, and
// the events held are written when serve stops.
func TestServeTracksClicks(t *testing.T) {
	bin := buildTidings(t)
	env := testEnv(t)
	httpAddr := freeAddr(t)
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr + "?tls=none"
	env["TIDINGS_BASE_URL"] = "http://" + httpAddr
	mustRunCLI(t, env, "list", "add", "weekly", "--name", "Weekly", "--from", "Weekly <w@example.org>")
	mustRunCLI(t, env, "sub", "add", "ada@example.org", "--list", "weekly")
	md := "---\ntitle: Weekly\nnumber: 1\n---\n\n## First {topics=}\n\nRead [the paper](https://example.com/paper?x=1).\n"
	id := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", writeTestFile(t, "1.md", []byte(md))))
	if out, errs, code := runCLI(t, env, "", "send", id); code != 0 {
		t.Fatalf("send: %d\n%s\n%s", code, out, errs)
	}
	if sink.Count() != 1 {
		t.Fatalf("%d messages", sink.Count())
	}
	html := htmlPart(t, sink.Messages()[0].Data)
	link := regexp.MustCompile(`href="(http://` + regexp.QuoteMeta(httpAddr) + `/c/[A-Za-z0-9_-]+)"[^>]*>the paper`).FindStringSubmatch(html)
	if link == nil {
		t.Fatalf("no tracked link in:\n%s", html)
	}

	srv := startServe(t, bin, "--db", env["TIDINGS_DB"], "--smtp-url", env["TIDINGS_SMTP_URL"], "--base-url", env["TIDINGS_BASE_URL"],
		"--http", httpAddr, "--log-format", "json", "--scan-window", "0s")
	srv.waitFor(t, "/healthz", 20*time.Second, func() bool {
		code, _, _ := httpGet("http://" + httpAddr + "/healthz")
		return code == http.StatusOK
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0")
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get(link[1]); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://example.com/paper?x=1" {
		t.Fatalf("tracked link: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get("http://" + httpAddr + "/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); res.StatusCode != http.StatusNotFound || res.Header.Get("Location") != "" {
		t.Errorf("forged token: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, metrics, _ := httpGet("http://" + httpAddr + "/metrics")
	if !strings.Contains(metrics, "tidings_redirect_duration_seconds_count 1") {
		t.Errorf("/metrics lacks one observed redirect")
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("serve exit %d; log:\n%s", code, srv.stderr.String())
	}
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	d.R.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM track_counts WHERE kind = 'click' AND verdict = 'human' AND position = 1 AND link = 1`).Scan(&n)
	if n != 1 {
		t.Errorf("human clicks written at shutdown: %d, want 1", n)
	}

	// a bad --scan-window is a usage error
	if _, errs, code := runCLI(t, env, "", "serve", "--scan-window", "soon"); code != 2 || !strings.Contains(errs, "scan-window") {
		t.Errorf("--scan-window soon: exit %d %s", code, errs)
	}
	env["TIDINGS_SCAN_WINDOW"] = "-5s"
	if _, errs, code := runCLI(t, env, "", "list", "ls"); code != 2 || !strings.Contains(errs, "TIDINGS_SCAN_WINDOW") {
		t.Errorf("TIDINGS_SCAN_WINDOW=-5s: exit %d %s", code, errs)
	}
}

func htmlPart(t *testing.T, raw []byte) string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			t.Fatal("no HTML part")
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			b, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			return string(b)
		}
	}
}
