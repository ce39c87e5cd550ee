package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/web"
)

// The answer to a subscribe request must not tell who subscribes: same
// status, same page, for a new, pending, confirmed, unsubscribed or
// bounced address; a confirmed reader gets a mail with a link to their
// preferences, a bounced one no mail.
func TestSubscribeSameAnswerForEveryStanding(t *testing.T) {
	e := newEnv(t)
	e.addSub(e.en, "pending@example.net", tidings.StatusPending, subscribers.AllTopics)
	e.addSub(e.en, "confirmed@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	e.addSub(e.en, "gone@example.net", tidings.StatusUnsubscribed, subscribers.AllTopics)
	e.addSub(e.en, "bounced@example.net", tidings.StatusBounced, subscribers.AllTopics)

	cases := []struct {
		email   string
		after   tidings.Status
		subject string // "" = no mail
	}{
		{"new@example.net", tidings.StatusPending, "Confirm your subscription to Tidings Weekly"},
		{"pending@example.net", tidings.StatusPending, "Confirm your subscription to Tidings Weekly"},
		{"confirmed@example.net", tidings.StatusConfirmed, "You are already subscribed to Tidings Weekly"},
		{"gone@example.net", tidings.StatusPending, "Confirm your subscription to Tidings Weekly"},
		{"bounced@example.net", tidings.StatusBounced, ""},
	}
	var first resp
	for i, c := range cases {
		r := e.subscribeForm(e.browser(), "weekly", c.email, "", "energy", "finance")
		if i == 0 {
			first = r
			if r.code != 200 || !strings.Contains(r.body, "Check your inbox") {
				t.Fatalf("%s: %d\n%s", c.email, r.code, r.body)
			}
		} else if r.code != first.code || r.body != first.body {
			t.Errorf("%s: answer differs from a new address's: %d vs %d\n%s", c.email, r.code, first.code, r.body)
		}
		if got := e.subscription(e.en, c.email).Status; got != c.after {
			t.Errorf("%s: status %s, want %s", c.email, got, c.after)
		}
	}
	got := map[string]string{}
	for _, m := range e.mails() {
		got[m.to] = m.subject
	}
	for _, c := range cases {
		if got[c.email] != c.subject {
			t.Errorf("%s: mail %q, want %q", c.email, got[c.email], c.subject)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d mails, want 4: %v", len(got), got)
	}
	// The confirmed reader's topics were not changed by a stranger's form.
	if ss := e.subscription(e.en, "confirmed@example.net"); !ss.AllTopics {
		t.Errorf("confirmed reader's topics changed to %v", ss.Topics)
	}
}

// The whole double opt-in through real SMTP: form, mail, link.
func TestSubscribeConfirmByMail(t *testing.T) {
	e := newEnv(t)
	r := e.subscribeForm(e.browser(), "weekly", "Ada@Example.NET", "Ada", "energy", "biomed")
	if r.code != 200 {
		t.Fatalf("subscribe: %d\n%s", r.code, r.body)
	}
	ss := e.subscription(e.en, "ada@example.net")
	if ss.Status != tidings.StatusPending || ss.AllTopics || strings.Join(ss.Topics, ",") != "biomed,energy" {
		t.Fatalf("after subscribe: %+v", ss)
	}
	ms := e.mails()
	if len(ms) != 1 {
		t.Fatalf("%d mails", len(ms))
	}
	m := ms[0]
	for _, h := range []string{"Date", "Message-Id", "From", "To"} {
		if m.hdr(h) == "" {
			t.Errorf("confirmation mail lacks %s", h)
		}
	}
	if m.hdr("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", m.hdr("Auto-Submitted"))
	}
	if !strings.Contains(m.text, "Energy, Biomedicine") || !strings.Contains(m.html, "Confirm my subscription") {
		t.Errorf("mail does not name the topics or lacks the button:\n%s", m.text)
	}
	link := linkIn(t, m, "confirm")
	if !strings.HasPrefix(link, e.ts.URL+"/weekly/confirm/") {
		t.Fatalf("confirm link %s", link)
	}
	got := e.do(nil, "GET", link, nil)
	if got.code != 200 || !strings.Contains(got.body, "You are subscribed") || !strings.Contains(got.body, "Energy") || !strings.Contains(got.body, "Biomedicine") || strings.Contains(got.body, "Finance") {
		t.Fatalf("confirm page: %d\n%s", got.code, got.body)
	}
	if !strings.Contains(got.body, "/weekly/preferences/") {
		t.Errorf("confirm page has no link to preferences")
	}
	if st := e.subscription(e.en, "ada@example.net").Status; st != tidings.StatusConfirmed {
		t.Fatalf("status %s after confirm", st)
	}
	// Single use.
	again := e.do(nil, "GET", link, nil)
	if again.code != http.StatusGone || !strings.Contains(again.body, "already used") || !strings.Contains(again.body, "/weekly/subscribe") {
		t.Errorf("reused link: %d\n%s", again.code, again.body)
	}
}

func TestConfirmBadLinks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.addSub(e.en, "a@example.net", tidings.StatusPending, subscribers.AllTopics)
	b := e.addSub(e.en, "b@example.net", tidings.StatusPending, subscribers.AllTopics)
	e.addSub(e.zh, "a@example.net", tidings.StatusPending, subscribers.AllTopics)
	confirm := func(list *tidings.List, sub int64, exp time.Time) string {
		return e.signer.Sign(token.Claims{Purpose: token.Confirm, SubscriberID: sub, ListID: list.ID, Expires: exp, Nonce: token.NewNonce()})
	}
	soon := e.clk.Now().Add(time.Hour)
	good := confirm(e.en, a.ID, soon)
	forged := []byte(good)
	forged[len(forged)-3] ^= 1
	other := token.New([]byte("another secret, another database")).Sign(token.Claims{Purpose: token.Confirm, SubscriberID: a.ID, ListID: e.en.ID, Expires: soon, Nonce: token.NewNonce()})
	expired := confirm(e.en, a.ID, e.clk.Now().Add(time.Minute))

	cases := []struct {
		name, path string
		code       int
		text       string
	}{
		{"forged", "/weekly/confirm/" + string(forged), 400, "This link does not work"},
		{"other secret", "/weekly/confirm/" + other, 400, "This link does not work"},
		{"truncated", "/weekly/confirm/" + good[:len(good)-4], 400, "This link does not work"},
		{"wrong purpose", "/weekly/confirm/" + e.tok(token.Preferences, e.en, a.ID), 400, "This link does not work"},
		{"wrong list", "/keji/confirm/" + good, 400, "链接无效"},
		{"no nonce", "/weekly/confirm/" + e.signer.Sign(token.Claims{Purpose: token.Confirm, SubscriberID: a.ID, ListID: e.en.ID, Expires: soon}), 400, "This link does not work"},
		{"unknown list", "/nope/confirm/" + good, 404, "Page not found"},
	}
	e.clk.Add(2 * time.Minute)
	cases = append(cases, struct {
		name, path string
		code       int
		text       string
	}{"expired", "/weekly/confirm/" + expired, 410, "This link has expired"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(nil, "GET", c.path, nil)
			if r.code != c.code || !strings.Contains(r.body, c.text) {
				t.Errorf("%d, want %d with %q\n%s", r.code, c.code, c.text, r.body)
			}
		})
	}
	for _, id := range []int64{a.ID, b.ID} {
		for _, l := range []*tidings.List{e.en, e.zh} {
			if ss, err := e.subs.Subscription(ctx, l.ID, id); err == nil && ss.Status != tidings.StatusPending {
				t.Errorf("subscriber %d on %s is %s after bad links", id, l.Slug, ss.Status)
			}
		}
	}
	// A's valid link confirms A, and only A.
	if r := e.do(nil, "GET", "/weekly/confirm/"+good, nil); r.code != 200 {
		t.Fatalf("good link: %d\n%s", r.code, r.body)
	}
	if e.subscription(e.en, "a@example.net").Status != tidings.StatusConfirmed || e.subscription(e.en, "b@example.net").Status != tidings.StatusPending {
		t.Error("a's token confirmed the wrong subscriber")
	}
	if e.subscription(e.zh, "a@example.net").Status != tidings.StatusPending {
		t.Error("a's token for one list confirmed another list")
	}
}

func TestSubscribeFormErrors(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	page := e.do(c, "GET", "/weekly/subscribe", nil)
	tok := csrfOf(t, page.body)
	cases := []struct {
		name string
		form url.Values
		code int
		text string
	}{
		{"bad email", url.Values{"csrf": {tok}, "email": {"not-an-address"}, "topics": {"energy"}}, 400, "valid email address"},
		{"header injection", url.Values{"csrf": {tok}, "email": {"a@example.net\r\nBcc: x@example.org"}, "topics": {"energy"}}, 400, "valid email address"},
		{"no topic", url.Values{"csrf": {tok}, "email": {"a@example.net"}}, 400, "at least one topic"},
		{"unknown topic", url.Values{"csrf": {tok}, "email": {"a@example.net"}, "topics": {"energy", "nope"}}, 400, "at least one topic"},
		{"long name", url.Values{"csrf": {tok}, "email": {"a@example.net"}, "name": {strings.Repeat("x", 201)}, "topics": {"energy"}}, 400, "too long"},
		{"no csrf", url.Values{"email": {"a@example.net"}, "topics": {"energy"}}, 403, "This form has expired"},
		{"bad csrf", url.Values{"csrf": {tok + "x"}, "email": {"a@example.net"}, "topics": {"energy"}}, 403, "This form has expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(c, "POST", "/weekly/subscribe", tc.form)
			if r.code != tc.code || !strings.Contains(r.body, tc.text) {
				t.Errorf("%d, want %d with %q\n%s", r.code, tc.code, tc.text, r.body)
			}
		})
	}
	// The field of another browser (another cookie) is refused too.
	r := e.do(e.browser(), "POST", "/weekly/subscribe", url.Values{"csrf": {tok}, "email": {"a@example.net"}, "topics": {"energy"}})
	if r.code != 403 {
		t.Errorf("csrf of another browser: %d", r.code)
	}
	if _, err := e.subs.Get(context.Background(), "a@example.net"); err == nil {
		t.Error("a refused form stored a subscriber")
	}
	if n := len(e.mails()); n != 0 {
		t.Errorf("%d mails after refused forms", n)
	}
}

func TestSubscribeJSONAndCORS(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"email": {"js@example.net"}, "topics": {"energy", "biomed", "finance"}}
	r := e.do(nil, "POST", "/weekly/subscribe", form, "Accept", "application/json", "Origin", "https://friend.example")
	var ans struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
		Error   string `json:"error"`
		Field   string `json:"field"`
	}
	if err := json.Unmarshal([]byte(r.body), &ans); err != nil || r.code != 200 || !ans.OK {
		t.Fatalf("json subscribe: %d %v\n%s", r.code, err, r.body)
	}
	if r.hdr.Get("Access-Control-Allow-Origin") != "https://friend.example" || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") {
		t.Errorf("headers: %v", r.hdr)
	}
	// Every topic ticked means all topics, including later ones.
	if ss := e.subscription(e.en, "js@example.net"); !ss.AllTopics || ss.Status != tidings.StatusPending {
		t.Errorf("json subscription: %+v", ss)
	}

	r = e.do(nil, "POST", "/weekly/subscribe", url.Values{"email": {"x"}, "topics": {"energy"}}, "Accept", "application/json")
	if err := json.Unmarshal([]byte(r.body), &ans); err != nil || r.code != 400 || ans.OK || ans.Field != "email" {
		t.Errorf("bad email json: %d\n%s", r.code, r.body)
	}
	r = e.do(nil, "POST", "/weekly/subscribe", form, "Accept", "application/json", "Origin", "https://evil.example")
	if r.code != 403 || r.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign origin: %d %v", r.code, r.hdr)
	}

	pre := e.do(nil, "OPTIONS", "/weekly/subscribe", nil, "Origin", "https://friend.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if pre.code != 204 || pre.hdr.Get("Access-Control-Allow-Origin") != "https://friend.example" || !strings.Contains(pre.hdr.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(pre.hdr.Get("Access-Control-Allow-Headers"), "Content-Type") {
		t.Errorf("preflight: %d %v", pre.code, pre.hdr)
	}
	pre = e.do(nil, "OPTIONS", "/weekly/subscribe", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if pre.code != 403 || pre.hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("foreign preflight: %d %v", pre.code, pre.hdr)
	}
}

// The rate limits, driven directly through the handler so each request can
// come from its own IP, on the injected clock.
func TestSubscribeRateLimits(t *testing.T) {
	e := newEnv(t, func(c *web.Config) {
		c.IPLimit = web.Limit{Every: time.Minute, Burst: 3}
		c.AddrLimit = web.Limit{Every: time.Hour, Burst: 2}
	})
	post := func(ip, email string) *httptest.ResponseRecorder {
		form := url.Values{"email": {email}, "topics": {"energy"}}
		req := httptest.NewRequest("POST", "/weekly/subscribe", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.RemoteAddr = ip + ":4242"
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		return w
	}
	t.Run("per IP", func(t *testing.T) {
		for i := range 3 {
			if w := post("192.0.2.1", "ip"+string(rune('a'+i))+"@example.net"); w.Code != 200 {
				t.Fatalf("request %d: %d", i, w.Code)
			}
		}
		w := post("192.0.2.1", "ipd@example.net")
		if w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("4th request from one IP: %d", w.Code)
		}
		if w := post("192.0.2.2", "ipe@example.net"); w.Code != 200 {
			t.Errorf("another IP: %d", w.Code)
		}
		// IPv6 neighbours in one /64 share a bucket.
		for i := range 3 {
			post("2001:db8::"+string(rune('1'+i)), "v6"+string(rune('a'+i))+"@example.net")
		}
		if w := post("2001:db8::ffff", "v6z@example.net"); w.Code != 429 {
			t.Errorf("same /64: %d", w.Code)
		}
		e.clk.Add(time.Minute)
		if w := post("192.0.2.1", "ipf@example.net"); w.Code != 200 {
			t.Errorf("after a minute: %d", w.Code)
		}
	})
	t.Run("per address across IPs", func(t *testing.T) {
		e.sink.Reset()
		var bodies []string
		for i := range 4 {
			w := post("198.51.100."+string(rune('1'+i)), "victim@example.net")
			if w.Code != 200 {
				t.Fatalf("request %d: %d", i, w.Code)
			}
			bodies = append(bodies, w.Body.String())
		}
		if bodies[3] != bodies[0] {
			t.Errorf("limited answer differs:\n%s\n%s", bodies[0], bodies[3])
		}
		n := 0
		for _, m := range e.mails() {
			if m.to == "victim@example.net" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d mails to one address from 4 IPs, want 2 (the burst)", n)
		}
		e.clk.Add(time.Hour)
		post("198.51.100.9", "Victim@Example.net")
		n = 0
		for _, m := range e.mails() {
			if strings.EqualFold(m.to, "victim@example.net") {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d mails after an hour, want 3", n)
		}
	})
}

func TestSubscribeHoneypot(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	page := e.do(c, "GET", "/weekly/subscribe", nil)
	if !strings.Contains(page.body, `name="website"`) {
		t.Fatal("form has no honeypot field")
	}
	normal := e.subscribeForm(e.browser(), "weekly", "human@example.net", "", "energy")
	f := url.Values{"csrf": {csrfOf(t, page.body)}, "email": {"bot@example.net"}, "topics": {"energy"}, "website": {"http://spam.example"}}
	r := e.do(c, "POST", "/weekly/subscribe", f)
	if r.code != normal.code || r.body != normal.body {
		t.Errorf("honeypot answer differs: %d\n%s", r.code, r.body)
	}
	if _, err := e.subs.Get(context.Background(), "bot@example.net"); err == nil {
		t.Error("honeypot submission stored a subscriber")
	}
	for _, m := range e.mails() {
		if m.to == "bot@example.net" {
			t.Error("honeypot submission got a mail")
		}
	}
}

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

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	s := e.addSub(e.en, "h@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	for _, p := range []string{
		"/weekly/subscribe", "/keji/subscribe", "/weekly/archive", "/weekly/feed.xml", "/static/style.css", "/nope/subscribe", "/",
		"/weekly/preferences/" + e.tok(token.Preferences, e.en, s.ID),
		"/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID),
		"/weekly/confirm/bad",
	} {
		r := e.do(nil, "GET", p, nil)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		}
		for h, v := range want {
			if got := r.hdr.Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", p, h, got, v)
			}
		}
		if strings.Contains(r.body, "<script") || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s: inline script or style", p)
		}
	}
	// Escaping: a name with markup comes back as text.
	c := e.browser()
	page := e.do(c, "GET", "/weekly/subscribe", nil)
	r := e.do(c, "POST", "/weekly/subscribe", url.Values{"csrf": {csrfOf(t, page.body)}, "email": {"bad"}, "name": {`<script>alert(1)</script>`}, "topics": {"energy"}})
	if strings.Contains(r.body, "<script>alert") || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Errorf("name not escaped:\n%s", r.body)
	}
	// The CSRF cookie: not readable by script, not sent cross-site on POST.
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: page.hdr}).Cookies() {
		if c.Name == "tidings_csrf" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Errorf("csrf cookie %+v", ck)
	}
	if page.hdr.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on a plain-http base URL")
	}
	if page.hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("form page Cache-Control %q", page.hdr.Get("Cache-Control"))
	}
	css := e.do(nil, "GET", "/static/style.css", nil)
	if css.code != 200 || !strings.HasPrefix(css.hdr.Get("Content-Type"), "text/css") {
		t.Errorf("css: %d %s", css.code, css.hdr.Get("Content-Type"))
	}
}

// Behind https, cookies are Secure and browsers are told to stay on https.
func TestHTTPSBase(t *testing.T) {
	e := newEnv(t)
	srv, err := web.New(web.Config{Subscribers: e.subs, Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer,
		Links: tidings.Links{Base: "https://news.example.org/letters"}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/weekly/subscribe", nil))
	if w.Code != 200 || w.Header().Get("Strict-Transport-Security") == "" {
		t.Errorf("%d %v", w.Code, w.Header())
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].Secure || c[0].Path != "/letters/" {
		t.Errorf("cookies %+v", c)
	}
	if !strings.Contains(w.Body.String(), `href="/letters/static/style.css"`) || !strings.Contains(w.Body.String(), `href="/letters/weekly/archive"`) {
		t.Errorf("links do not carry the base path:\n%s", w.Body.String())
	}
	// The prefix is taken off when no proxy did, and the pages' own
	// redirects keep it.
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/letters/weekly/subscribe", nil))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Subscribe to Tidings Weekly") {
		t.Errorf("prefixed path: %d", w.Code)
	}
	for _, bad := range []string{"", "news.example.org", "ftp://x.org", "https://"} {
		if _, err := web.New(web.Config{Subscribers: e.subs, Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer, Links: tidings.Links{Base: bad}}); err == nil {
			t.Errorf("base %q accepted", bad)
		}
	}
	if _, err := web.New(web.Config{Issues: e.iss, Renderer: readerMails{}, Mailer: smtpSender{}, Signer: e.signer, Links: tidings.Links{Base: "https://x.org"}}); err == nil {
		t.Error("no store accepted")
	}
}

// archiveEnv imports two issues into the English list and sends the first.
func archiveEnv(t *testing.T) (*env, *tidings.Issue, *tidings.Issue) {
	e := newEnv(t)
	ctx := context.Background()
	src, err := os.ReadFile("../issues/testdata/explicit.md")
	if err != nil {
		t.Fatal(err)
	}
	topics, _ := e.subs.Topics(ctx, e.en.ID)
	sent, err := e.iss.Import(ctx, e.en.ID, "explicit.md", src, topics)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.iss.MarkSent(ctx, sent.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	draftSrc := strings.Replace(string(src), "number: 42", "number: 43", 1)
	draftSrc = strings.Replace(draftSrc, "title: Tidings Weekly", "title: Secret Draft", 1)
	draft, err := e.iss.Import(ctx, e.en.ID, "draft.md", []byte(draftSrc), topics)
	if err != nil {
		t.Fatal(err)
	}
	return e, sent, draft
}

func TestArchiveShowsOnlySentIssues(t *testing.T) {
	e, sent, draft := archiveEnv(t)
	arch := e.do(nil, "GET", "/weekly/archive", nil)
	if arch.code != 200 || !strings.Contains(arch.body, "/weekly/archive/42") || strings.Contains(arch.body, "/weekly/archive/43") || strings.Contains(arch.body, "Secret Draft") {
		t.Fatalf("archive: %d\n%s", arch.code, arch.body)
	}
	page := e.do(nil, "GET", "/weekly/archive/42", nil)
	if page.code != 200 || !strings.Contains(page.body, "Battery recycling plant opens") || !strings.Contains(page.body, "A new fund for biotech start-ups") {
		t.Fatalf("issue page: %d\n%s", page.code, page.body)
	}
	for _, p := range []string{"/weekly/archive/43", "/weekly/archive/44", "/weekly/archive/x", "/keji/archive/42"} {
		if r := e.do(nil, "GET", p, nil); r.code != 404 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	feed := e.do(nil, "GET", "/weekly/feed.xml", nil)
	if feed.code != 200 || !strings.HasPrefix(feed.hdr.Get("Content-Type"), "application/atom+xml") {
		t.Fatalf("feed: %d %s", feed.code, feed.hdr.Get("Content-Type"))
	}
	var f struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(feed.body), &f); err != nil {
		t.Fatalf("feed: %v\n%s", err, feed.body)
	}
	if len(f.Entries) != 1 || f.Entries[0].ID != e.ts.URL+"/weekly/archive/42" || !strings.Contains(f.Entries[0].Content, "Battery recycling") {
		t.Errorf("feed entries: %+v", f.Entries)
	}
	_ = sent
	// Once the draft is sent, it appears, newest first.
	if err := e.iss.MarkSent(context.Background(), draft.ID, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	arch = e.do(nil, "GET", "/weekly/archive", nil)
	if i, j := strings.Index(arch.body, "/weekly/archive/43"), strings.Index(arch.body, "/weekly/archive/42"); i < 0 || j < 0 || i > j {
		t.Errorf("archive order: 43 at %d, 42 at %d", i, j)
	}
}

func TestLanguages(t *testing.T) {
	e := newEnv(t)
	zh := e.do(nil, "GET", "/keji/subscribe", nil)
	if !strings.Contains(zh.body, `<html lang="zh-CN">`) || !strings.Contains(zh.body, "订阅《科技情报参考》") || !strings.Contains(zh.body, "人工智能") || zh.hdr.Get("Content-Language") != "zh-CN" {
		t.Errorf("zh page:\n%s", zh.body)
	}
	en := e.do(nil, "GET", "/weekly/subscribe", nil)
	if !strings.Contains(en.body, `<html lang="en">`) || !strings.Contains(en.body, "Subscribe to Tidings Weekly") {
		t.Errorf("en page:\n%s", en.body)
	}
	// The zh confirmation mail is Chinese, its subject RFC 2047-encoded.
	r := e.subscribeForm(e.browser(), "keji", "zh@example.net", "李雷", "ai")
	if r.code != 200 || !strings.Contains(r.body, "请查收邮件") {
		t.Fatalf("zh subscribe: %d\n%s", r.code, r.body)
	}
	ms := e.mails()
	if len(ms) != 1 || ms[0].subject != "请确认订阅《科技情报参考》" || !strings.Contains(ms[0].text, "人工智能") {
		t.Fatalf("zh mail: %+v", ms)
	}
	if !regexp.MustCompile(`(?i)\nSubject:\s+=\?utf-8\?`).Match(ms[0].raw) {
		t.Errorf("subject not RFC 2047-encoded:\n%s", ms[0].raw)
	}
	ok := e.do(nil, "GET", linkIn(t, ms[0], "confirm"), nil)
	if ok.code != 200 || !strings.Contains(ok.body, "订阅成功") || !strings.Contains(ok.body, "人工智能") {
		t.Errorf("zh confirm page: %d\n%s", ok.code, ok.body)
	}
	p, _ := e.subs.Get(context.Background(), "zh@example.net")
	for _, c := range []struct{ path, zh, en string }{
		{"/%s/preferences/" + e.tok(token.Preferences, e.zh, p.ID), "订阅设置", ""},
		{"/%s/unsubscribe/" + e.tok(token.Unsubscribe, e.zh, p.ID), "退订《科技情报参考》？", ""},
		{"/%s/archive", "《科技情报参考》往期", "Tidings Weekly — archive"},
		{"/%s/confirm/bad", "链接无效", "This link does not work"},
		{"/%s/subscribe", "取消勾选不想看的主题", "Untick what you do not want"},
	} {
		r := e.do(nil, "GET", fmt.Sprintf(c.path, "keji"), nil)
		if !strings.Contains(r.body, c.zh) || !strings.Contains(r.body, `lang="zh-CN"`) {
			t.Errorf("zh %s lacks %q", c.path, c.zh)
		}
		if c.en != "" {
			if r := e.do(nil, "GET", fmt.Sprintf(c.path, "weekly"), nil); !strings.Contains(r.body, c.en) || !strings.Contains(r.body, `lang="en"`) {
				t.Errorf("en %s lacks %q", c.path, c.en)
			}
		}
	}
}

// A list's template directory overrides pages file by file.
func TestListTemplateOverride(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	if err := os.MkdirAll(dir+"/web", 0o755); err != nil {
		t.Fatal(err)
	}
	custom := `{{define "content"}}<h1>Our own form</h1><form method="post"><input type="hidden" name="csrf" value="{{.CSRF}}"></form>{{end}}`
	if err := os.WriteFile(dir+"/web/subscribe.html", []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.subs.UpdateList(context.Background(), "weekly", func(l *tidings.List) error { l.TemplateDir = dir; return nil }); err != nil {
		t.Fatal(err)
	}
	r := e.do(nil, "GET", "/weekly/subscribe", nil)
	if r.code != 200 || !strings.Contains(r.body, "Our own form") || !strings.Contains(r.body, `<html lang="en">`) {
		t.Errorf("override: %d\n%s", r.code, r.body)
	}
	if r := e.do(nil, "GET", "/keji/subscribe", nil); strings.Contains(r.body, "Our own form") {
		t.Error("override leaked to another list")
	}
}

func BenchmarkSubscribePage(b *testing.B) {
	e := newEnv(b)
	req := httptest.NewRequest("GET", "/weekly/subscribe", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// One-click unsubscribes, each a real SQLite write.
func BenchmarkOneClickUnsubscribe(b *testing.B) {
	e := newEnv(b)
	s := e.addSub(e.en, "bench@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	path := "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := e.subs.SetStatus(ctx, e.en.ID, s.ID, tidings.StatusConfirmed); err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest("POST", path, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		b.StartTimer()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// The confirmation link of a real mail stops working after ConfirmTTL.
func TestConfirmLinkExpires(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.ConfirmTTL = time.Hour })
	e.subscribeForm(e.browser(), "weekly", "late@example.net", "", "energy")
	ms := e.mails()
	if len(ms) != 1 || !strings.Contains(ms[0].text, "The link works until 2026-03-01 11:00 CET.") {
		t.Fatalf("mail does not state the expiry in the list's zone:\n%+v", ms)
	}
	link := linkIn(t, ms[0], "confirm")
	e.clk.Add(time.Hour)
	r := e.do(nil, "GET", link, nil)
	if r.code != http.StatusGone || !strings.Contains(r.body, "This link has expired") || !strings.Contains(r.body, `href="/weekly/subscribe"`) {
		t.Errorf("expired link: %d\n%s", r.code, r.body)
	}
	if st := e.subscription(e.en, "late@example.net").Status; st != tidings.StatusPending {
		t.Errorf("status %s after an expired link", st)
	}
}

// forge changes one character well inside a link's token. Changing the
// last characters is not enough: the final base32 character carries
// padding bits, so a replacement can decode to the same bytes and the
// "forged" link would (rarely) verify.
func forge(path string) string {
	i := len(path) - 6
	c := byte('a')
	if path[i] == 'a' {
		c = 'b'
	}
	return path[:i] + string(c) + path[i+1:]
}
