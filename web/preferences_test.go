package web_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

func TestPreferences(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sub := e.addSub(e.en, "reader@example.net", tidings.StatusConfirmed, subscribers.TopicChoice{Slugs: []string{"energy"}})
	e.addSub(e.zh, "reader@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	other := e.addSub(e.en, "other@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	path := "/weekly/preferences/" + e.tok(token.Preferences, e.en, sub.ID)
	c := e.browser()

	page := e.do(c, "GET", path, nil)
	if page.code != 200 || !strings.Contains(page.body, "reader@example.net") || strings.Contains(page.body, "other@example.net") {
		t.Fatalf("GET: %d\n%s", page.code, page.body)
	}
	if !strings.Contains(page.body, `value="energy" checked`) || strings.Contains(page.body, `value="finance" checked`) {
		t.Errorf("topics not shown as stored:\n%s", page.body)
	}
	if page.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", page.hdr.Get("Cache-Control"))
	}
	tok := csrfOf(t, page.body)

	post := func(f url.Values) resp {
		t.Helper()
		return e.do(c, "POST", path, f)
	}
	t.Run("csrf", func(t *testing.T) {
		for name, f := range map[string]url.Values{
			"missing":       {"action": {"unsubscribe"}},
			"wrong":         {"action": {"unsubscribe"}, "csrf": {"x" + tok}},
			"another page":  {"action": {"unsubscribe"}, "csrf": {csrfOf(t, e.do(c, "GET", "/weekly/subscribe", nil).body)}},
			"other browser": nil,
		} {
			var r resp
			if f == nil {
				r = e.do(e.browser(), "POST", path, url.Values{"action": {"unsubscribe"}, "csrf": {tok}})
			} else {
				r = post(f)
			}
			if r.code != 403 {
				t.Errorf("%s: %d", name, r.code)
			}
		}
		if e.subscription(e.en, "reader@example.net").Status != tidings.StatusConfirmed {
			t.Fatal("a refused form changed the subscription")
		}
	})
	t.Run("topics and name", func(t *testing.T) {
		r := post(url.Values{"csrf": {tok}, "action": {"save"}, "name": {"Grace"}, "topics": {"biomed", "finance"}})
		if r.code != 303 || !strings.HasSuffix(r.hdr.Get("Location"), path+"?done=saved") {
			t.Fatalf("save: %d %v\n%s", r.code, r.hdr, r.body)
		}
		ss := e.subscription(e.en, "reader@example.net")
		if ss.AllTopics || strings.Join(ss.Topics, ",") != "biomed,finance" {
			t.Errorf("topics %+v", ss)
		}
		if p, _ := e.subs.GetByID(ctx, sub.ID); p.Name != "Grace" {
			t.Errorf("name %q", p.Name)
		}
		shown := e.do(c, "GET", r.hdr.Get("Location"), nil)
		if !strings.Contains(shown.body, "Your changes are saved") || !strings.Contains(shown.body, `value="Grace"`) {
			t.Errorf("saved page:\n%s", shown.body)
		}
		if r := post(url.Values{"csrf": {tok}, "action": {"save"}}); r.code != 400 || !strings.Contains(r.body, "at least one topic") {
			t.Errorf("no topics: %d", r.code)
		}
	})
	t.Run("unsubscribe this list", func(t *testing.T) {
		r := post(url.Values{"csrf": {tok}, "action": {"unsubscribe"}})
		if r.code != 303 {
			t.Fatalf("%d", r.code)
		}
		if e.subscription(e.en, "reader@example.net").Status != tidings.StatusUnsubscribed || e.subscription(e.zh, "reader@example.net").Status != tidings.StatusConfirmed {
			t.Error("unsubscribe touched the wrong lists")
		}
		shown := e.do(c, "GET", r.hdr.Get("Location"), nil)
		if !strings.Contains(shown.body, "You are unsubscribed from Tidings Weekly") || !strings.Contains(shown.body, "Subscribe again") {
			t.Errorf("page after unsubscribe:\n%s", shown.body)
		}
		if r := post(url.Values{"csrf": {tok}, "action": {"resubscribe"}}); r.code != 303 || e.subscription(e.en, "reader@example.net").Status != tidings.StatusConfirmed {
			t.Errorf("resubscribe: %d", r.code)
		}
	})
	t.Run("unsubscribe everything", func(t *testing.T) {
		r := post(url.Values{"csrf": {tok}, "action": {"unsubscribe-all"}})
		if r.code != 303 {
			t.Fatalf("%d", r.code)
		}
		if e.subscription(e.en, "reader@example.net").Status != tidings.StatusUnsubscribed || e.subscription(e.zh, "reader@example.net").Status != tidings.StatusUnsubscribed {
			t.Error("not unsubscribed from every list")
		}
		if e.subscription(e.en, "other@example.net").Status != tidings.StatusConfirmed {
			t.Error("another reader was unsubscribed")
		}
	})
	t.Run("bad tokens", func(t *testing.T) {
		for name, p := range map[string]string{
			"unsubscribe token": "/weekly/preferences/" + e.tok(token.Unsubscribe, e.en, sub.ID),
			"other list":        "/keji/preferences/" + e.tok(token.Preferences, e.en, sub.ID),
			"forged":            forge(path),
		} {
			if r := e.do(nil, "GET", p, nil); r.code != 400 {
				t.Errorf("%s: %d", name, r.code)
			}
		}
		// A Manage token (from the "already subscribed" mail) works until it expires.
		manage := e.signer.Sign(token.Claims{Purpose: token.Manage, SubscriberID: other.ID, ListID: e.en.ID, Expires: e.clk.Now().Add(time.Hour)})
		if r := e.do(nil, "GET", "/weekly/preferences/"+manage, nil); r.code != 200 || !strings.Contains(r.body, "other@example.net") {
			t.Errorf("manage token: %d", r.code)
		}
		e.clk.Add(2 * time.Hour)
		if r := e.do(nil, "GET", "/weekly/preferences/"+manage, nil); r.code != 410 {
			t.Errorf("expired manage token: %d", r.code)
		}
	})
}

func TestUnsubscribe(t *testing.T) {
	e := newEnv(t)
	mk := func(email string) (string, *tidings.Subscriber) {
		s := e.addSub(e.en, email, tidings.StatusConfirmed, subscribers.AllTopics)
		return "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID), s
	}
	t.Run("GET does not unsubscribe", func(t *testing.T) {
		p, _ := mk("get@example.net")
		for range 3 {
			r := e.do(nil, "GET", p, nil)
			if r.code != 200 || !strings.Contains(r.body, "<button") || !strings.Contains(r.body, "get@example.net") {
				t.Fatalf("%d\n%s", r.code, r.body)
			}
		}
		if r := e.do(nil, "HEAD", p, nil); r.code != 200 {
			t.Errorf("HEAD %d", r.code)
		}
		if st := e.subscription(e.en, "get@example.net").Status; st != tidings.StatusConfirmed {
			t.Errorf("status %s after GETs", st)
		}
	})
	t.Run("RFC 8058 urlencoded, no cookie", func(t *testing.T) {
		p, _ := mk("oneclick@example.net")
		req, _ := http.NewRequest("POST", e.ts.URL+p, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Location") != "" {
			t.Errorf("%d %v", res.StatusCode, res.Header)
		}
		if st := e.subscription(e.en, "oneclick@example.net").Status; st != tidings.StatusUnsubscribed {
			t.Errorf("status %s", st)
		}
		// Again: still 200, still unsubscribed.
		if r := e.do(nil, "POST", p, url.Values{"List-Unsubscribe": {"One-Click"}}); r.code != 200 {
			t.Errorf("second one-click: %d", r.code)
		}
	})
	t.Run("RFC 8058 multipart, no cookie", func(t *testing.T) {
		p, _ := mk("multi@example.net")
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("List-Unsubscribe", "One-Click")
		mw.Close()
		req, _ := http.NewRequest("POST", e.ts.URL+p, &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%d", res.StatusCode)
		}
		if st := e.subscription(e.en, "multi@example.net").Status; st != tidings.StatusUnsubscribed {
			t.Errorf("status %s", st)
		}
	})
	t.Run("button needs csrf", func(t *testing.T) {
		p, _ := mk("button@example.net")
		if r := e.do(nil, "POST", p, url.Values{"confirm": {"1"}}); r.code != 403 {
			t.Errorf("no csrf: %d", r.code)
		}
		if st := e.subscription(e.en, "button@example.net").Status; st != tidings.StatusConfirmed {
			t.Fatalf("status %s after refused POST", st)
		}
		c := e.browser()
		page := e.do(c, "GET", p, nil)
		r := e.do(c, "POST", p, url.Values{"confirm": {"1"}, "csrf": {csrfOf(t, page.body)}})
		if r.code != 200 || !strings.Contains(r.body, "You are unsubscribed") {
			t.Errorf("button: %d\n%s", r.code, r.body)
		}
		if st := e.subscription(e.en, "button@example.net").Status; st != tidings.StatusUnsubscribed {
			t.Errorf("status %s", st)
		}
	})
	t.Run("bad tokens", func(t *testing.T) {
		_, s := mk("safe@example.net")
		for name, tok := range map[string]string{
			"preferences token": e.tok(token.Preferences, e.en, s.ID),
			"other list":        e.tok(token.Unsubscribe, e.zh, s.ID),
			"garbage":           "zzzz",
		} {
			if r := e.do(nil, "POST", "/weekly/unsubscribe/"+tok, url.Values{"List-Unsubscribe": {"One-Click"}}); r.code != 400 {
				t.Errorf("%s: %d", name, r.code)
			}
		}
		if st := e.subscription(e.en, "safe@example.net").Status; st != tidings.StatusConfirmed {
			t.Errorf("status %s", st)
		}
	})
	t.Run("erased reader", func(t *testing.T) {
		p, _ := mk("erased@example.net")
		if err := e.subs.Delete(context.Background(), "erased@example.net"); err != nil {
			t.Fatal(err)
		}
		if r := e.do(nil, "POST", p, url.Values{"List-Unsubscribe": {"One-Click"}}); r.code != 200 {
			t.Errorf("one-click for an erased reader: %d", r.code)
		}
		if r := e.do(nil, "GET", p, nil); r.code != 400 {
			t.Errorf("page for an erased reader: %d", r.code)
		}
	})
}
