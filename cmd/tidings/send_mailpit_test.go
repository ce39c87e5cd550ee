package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/internal/testpeers"
)

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, b)
	}
	if s, ok := v.(*[]byte); ok {
		*s = b
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", u, err, b)
	}
}

// TestSendEndToEndMailpit sends the sample issue through the real CLI,
// renderer and engine to Mailpit, DKIM-signed, and checks each reader's
// copy through Mailpit's API: subject, list headers, signature, and a
// body holding exactly that reader's articles.
func TestSendEndToEndMailpit(t *testing.T) {
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{})
	smtpAddr, api := mp.SMTP, mp.API
	env := testEnv(t)
	env["TIDINGS_SMTP_URL"] = "smtp://" + smtpAddr
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	env["TIDINGS_LOG_FORMAT"] = "text"
	seedSample(t, env)
	key := filepath.Join(t.TempDir(), "dkim.pem")
	keygen := mustRunCLI(t, env, "dkim", "keygen", "--selector", "e2e", "--out", key)
	rec := regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(keygen, -1)
	var txt string
	for _, m := range rec {
		txt += m[1]
	}
	env["TIDINGS_DKIM_KEY"], env["TIDINGS_DKIM_SELECTOR"] = key, "e2e"

	var show struct {
		Articles []struct {
			Title  string   `json:"title"`
			Topics []string `json:"topics"`
		} `json:"articles"`
	}
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "show", "1", "--json")), &show); err != nil {
		t.Fatal(err)
	}
	mustRunCLI(t, env, "send", "1")

	for _, s := range sendSubs {
		var search struct {
			Messages []struct {
				ID      string `json:"ID"`
				Subject string `json:"Subject"`
			} `json:"messages"`
		}
		getJSON(t, api+"/api/v1/search?query="+url.QueryEscape("to:"+s.email), &search)
		if s.topics == "quantum" {
			if len(search.Messages) != 0 {
				t.Errorf("%s has no article but got %d messages", s.email, len(search.Messages))
			}
			continue
		}
		if len(search.Messages) != 1 {
			t.Errorf("%s: %d messages, want 1", s.email, len(search.Messages))
			continue
		}
		id := search.Messages[0].ID
		if subj := search.Messages[0].Subject; !strings.Contains(subj, "科技情报参考") || !strings.Contains(subj, "7") {
			t.Errorf("%s: subject %q", s.email, subj)
		}
		var msg struct {
			Text            string
			HTML            string
			ListUnsubscribe struct {
				Header     string
				Links      []string
				Errors     string
				HeaderPost string
			}
		}
		getJSON(t, api+"/api/v1/message/"+id, &msg)
		lu := msg.ListUnsubscribe
		if lu.Errors != "" || lu.HeaderPost != "List-Unsubscribe=One-Click" || len(lu.Links) != 2 ||
			!strings.HasPrefix(lu.Links[0], "https://news.example.org/keji/unsubscribe/") || !strings.HasPrefix(lu.Links[1], "mailto:unsubscribe+") {
			t.Errorf("%s: List-Unsubscribe %+v", s.email, lu)
		}
		var headers map[string][]string
		getJSON(t, api+"/api/v1/message/"+id+"/headers", &headers)
		for _, h := range []string{"List-Id", "Message-Id", "Dkim-Signature", "Feedback-Id"} {
			if len(headerValues(headers, h)) != 1 {
				t.Errorf("%s: header %s = %q", s.email, h, headerValues(headers, h))
			}
		}
		if v := headerValues(headers, "List-Id"); len(v) == 1 && !strings.Contains(v[0], "<keji.") {
			t.Errorf("%s: List-Id %q", s.email, v[0])
		}
		if v := headerValues(headers, "Message-Id"); len(v) == 1 && !regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`).MatchString(v[0]) {
			t.Errorf("%s: Message-ID %q", s.email, v[0])
		}
		var raw []byte
		getJSON(t, api+"/api/v1/message/"+id+"/raw", &raw)
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: func(d string) ([]string, error) {
			if d == "e2e._domainkey.example.org" {
				return []string{txt}, nil
			}
			return nil, fmt.Errorf("no record for %s", d)
		}})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Errorf("%s: DKIM does not verify: %v %+v", s.email, err, vs)
		}
		// Exactly the reader's articles, in text and HTML.
		for _, a := range show.Articles {
			want := s.topics == "all"
			for _, tp := range a.Topics {
				want = want || strings.Contains(","+s.topics+",", ","+tp+",")
			}
			if got := strings.Contains(msg.Text, a.Title); got != want {
				t.Errorf("%s (%s): text has %q = %v, want %v", s.email, s.topics, a.Title, got, want)
			}
			if got := strings.Contains(msg.HTML, htmlEscape(a.Title)); got != want {
				t.Errorf("%s (%s): HTML has %q = %v, want %v", s.email, s.topics, a.Title, got, want)
			}
		}
	}
}

func headerValues(h map[string][]string, name string) []string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
