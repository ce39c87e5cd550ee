package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

func TestOutboxPages(t *testing.T) {
	msg := "From: =?UTF-8?B?56eR5oqA5oOF5oql?= <news@example.org>\r\nTo: a@example.org\r\n" +
		"Subject: =?UTF-8?B?56eR5oqA5oOF5oql5Y+C6ICD?=\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain body\r\n" +
		"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html body</p><script>alert(1)</script>\r\n--b--\r\n"
	msgs := []smtpsink.Message{{Seq: 1, From: "bounces@example.org", To: []string{"a@example.org"}, Data: []byte(msg), Received: time.Now()}}
	mux := http.NewServeMux()
	outboxPages{messages: func() []smtpsink.Message { return msgs }}.routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		path, want, csp string
		code            int
	}{
		{"/outbox", "科技情报参考", "default-src 'none'", 200},
		{"/outbox/1", `<iframe sandbox="" src="/outbox/1/html"`, "frame-src 'self'", 200},
		{"/outbox/1", "plain body", "", 200},
		{"/outbox/1/html", "html body", "sandbox", 200},
		{"/outbox/1/raw", "Content-Type: multipart/alternative", "", 200},
		{"/outbox/2", "no such message", "", 404},
		// bad message numbers: one clear 404, never a panic or another message
		{"/outbox/abc", "no such message", "", 404},
		{"/outbox/-1/html", "no such message", "", 404},
		{"/outbox/0/raw", "no such message", "", 404},
		{"/outbox/99999999999999999999", "no such message", "", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), tc.csp) {
			t.Errorf("GET %s = %d, CSP %q:\n%s", tc.path, resp.StatusCode, resp.Header.Get("Content-Security-Policy"), b)
		}
	}

	// The headers table lists the fields in the message's order, decoded,
	// the same at every reload (not in map order).
	var first string
	for i := range 5 {
		_, page, err := httpGet(srv.URL + "/outbox/1")
		if err != nil {
			t.Fatal(err)
		}
		_, table, _ := strings.Cut(page, "<h2>Headers</h2>")
		var at []int
		for _, want := range []string{"<th>From</th><td>科技情报 &lt;news@example.org&gt;</td>", "<th>To</th>",
			"<th>Subject</th><td>科技情报参考</td>", "<th>MIME-Version</th>", "<th>Content-Type</th>"} {
			at = append(at, strings.Index(table, want))
		}
		if !slices.IsSorted(at) || at[0] < 0 {
			t.Fatalf("headers not in message order (positions %v):\n%s", at, table)
		}
		if i == 0 {
			first = page
		} else if page != first {
			t.Fatalf("the message page changed between reloads")
		}
	}
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
