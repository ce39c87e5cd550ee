package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/smtp"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/web"
)

// clock is the injected time of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// smtpSender delivers over a real SMTP conversation (net/smtp) to the
// test's sink; cmd/tidings uses the mailer's one-off sender instead.
type smtpSender struct{ addr string }

func (s smtpSender) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	return smtp.SendMail(s.addr, nil, from, to, msg)
}

// readerMails adapts render.Renderer to web.Renderer as cmd/tidings does.
type readerMails struct{ *render.Renderer }

func (m readerMails) ReaderMail(list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber, kind web.MailKind, ttl time.Duration) ([]byte, string, error) {
	k := render.Confirm
	if kind == web.ManageMail {
		k = render.Manage
	}
	return m.ConfirmationMailTTL(list, topics, sub, k, ttl)
}

// env is one test's world: real SQLite, real SMTP sink, real HTTP server.
type env struct {
	t      testing.TB
	clk    *clock
	d      *db.DB
	subs   *subscribers.Store
	iss    *issues.Store
	signer *token.Signer
	sink   *smtpsink.Server
	srv    *web.Server
	ts     *httptest.Server
	en, zh *tidings.List
}

type envOption func(*web.Config)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, clk: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
	e.d = dbtest.MustOpenDB(t)
	e.d.Now = e.clk.Now
	e.subs = subscribers.NewStore(e.d)
	e.iss = issues.NewStore(e.d)
	secret, err := e.d.Secret(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.signer = token.New(secret)
	e.signer.Now = e.clk.Now
	e.sink, err = smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sink.Close() })

	ctx := context.Background()
	e.en = &tidings.List{Slug: "weekly", Name: "Tidings Weekly", From: "Tidings Weekly <news@example.org>", Lang: tidings.LangEN, TZ: "Europe/Berlin", Address: "1 Example Street, Berlin"}
	e.zh = &tidings.List{Slug: "keji", Name: "科技情报参考", From: "科技情报 <keji@example.cn>", Lang: tidings.LangZH, TZ: "Asia/Shanghai"}
	for _, l := range []*tidings.List{e.en, e.zh} {
		if err := e.subs.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range []tidings.Topic{{Slug: "energy", Name: "Energy"}, {Slug: "biomed", Name: "Biomedicine"}, {Slug: "finance", Name: "Finance"}} {
		if err := e.subs.AddTopic(ctx, e.en.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range []tidings.Topic{{Slug: "ai", Name: "人工智能"}, {Slug: "health", Name: "健康养老"}, {Slug: "industry", Name: "产业发展"}} {
		if err := e.subs.AddTopic(ctx, e.zh.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}

	// The server needs its own URL as base before it exists: start the
	// listener first, then attach the handler.
	var h http.Handler
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.ts.Close)
	links := tidings.Links{Base: e.ts.URL}
	cfg := web.Config{
		Subscribers: e.subs,
		Issues:      e.iss,
		Renderer:    readerMails{&render.Renderer{Links: links, Signer: e.signer, Now: e.clk.Now}},
		Mailer:      smtpSender{addr: e.sink.Addr},
		Signer:      e.signer,
		Links:       links,
		Now:         e.clk.Now,
		CORSOrigins: []string{"https://friend.example"},
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.srv, err = web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = e.srv
	t.Cleanup(e.srv.Wait)
	return e
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects (tests look at them).
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	code int
	body string
	hdr  http.Header
}

func (e *env) do(c *http.Client, method, path string, form url.Values, hdr ...string) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = e.ts.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

// subscribeForm loads the form in browser c and posts it.
func (e *env) subscribeForm(c *http.Client, list, email, name string, topics ...string) resp {
	e.t.Helper()
	page := e.do(c, "GET", "/"+list+"/subscribe", nil)
	if page.code != 200 {
		e.t.Fatalf("GET subscribe: %d\n%s", page.code, page.body)
	}
	f := url.Values{"csrf": {csrfOf(e.t, page.body)}, "email": {email}, "name": {name}, "topics": topics}
	return e.do(c, "POST", "/"+list+"/subscribe", f)
}

// mail is one received message, decoded.
type mail struct {
	to, subject, text, html string
	raw                     []byte
	hdr                     func(string) string
}

// mails waits for the server's background mails and returns all received.
func (e *env) mails() []mail {
	e.t.Helper()
	e.srv.Wait()
	var out []mail
	for _, m := range e.sink.Messages() {
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
		if err != nil {
			e.t.Fatalf("parse mail: %v\n%s", err, m.Data)
		}
		out = append(out, mail{to: strings.Join(m.To, ","), subject: env.GetHeader("Subject"), text: env.Text, html: env.HTML, raw: m.Data, hdr: env.GetHeader})
	}
	return out
}

var linkRE = regexp.MustCompile(`https?://[^\s<>"]+/(confirm|preferences|unsubscribe)/[a-z0-9]+`)

// linkIn is the reader link of that kind in a mail's text part.
func linkIn(t testing.TB, m mail, kind string) string {
	t.Helper()
	for _, l := range linkRE.FindAllStringSubmatch(m.text, -1) {
		if l[1] == kind {
			return l[0]
		}
	}
	t.Fatalf("no %s link in mail %q:\n%s", kind, m.subject, m.text)
	return ""
}

func (e *env) subscription(list *tidings.List, email string) *tidings.Subscription {
	e.t.Helper()
	p, err := e.subs.Get(context.Background(), email)
	if err != nil {
		e.t.Fatalf("get %s: %v", email, err)
	}
	ss, err := e.subs.Subscription(context.Background(), list.ID, p.ID)
	if err != nil {
		e.t.Fatalf("subscription %s: %v", email, err)
	}
	return ss
}

// addSub puts someone on a list with a status, as an admin would.
func (e *env) addSub(list *tidings.List, email string, st tidings.Status, topics subscribers.TopicChoice) *tidings.Subscriber {
	e.t.Helper()
	s, err := e.subs.Subscribe(context.Background(), list.ID, email, "", topics, st)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) tok(p token.Purpose, list *tidings.List, subID int64) string {
	return e.signer.Sign(token.Claims{Purpose: p, SubscriberID: subID, ListID: list.ID})
}
