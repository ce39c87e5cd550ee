package main

import (
	"io"
	"net/http"
	"net/http/httptest"
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
}
