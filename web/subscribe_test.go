package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
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
