package web_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/web"
)

// A link checker's HEAD must not spend the single-use confirmation token:
// the reader's own click afterwards still confirms.
func TestConfirmHEADDoesNotSpendToken(t *testing.T) {
	e := newEnv(t)
	s := e.addSub(e.en, "probe@example.net", tidings.StatusPending, subscribers.AllTopics)
	tok := e.signer.Sign(token.Claims{Purpose: token.Confirm, SubscriberID: s.ID, ListID: e.en.ID, Expires: e.clk.Now().Add(time.Hour), Nonce: token.NewNonce()})
	for range 2 {
		if r := e.do(nil, "HEAD", "/weekly/confirm/"+tok, nil); r.code != 200 {
			t.Fatalf("HEAD: %d", r.code)
		}
	}
	if st := e.subscription(e.en, "probe@example.net").Status; st != tidings.StatusPending {
		t.Fatalf("HEAD confirmed: %s", st)
	}
	if r := e.do(nil, "HEAD", "/weekly/confirm/"+tok+"x", nil); r.code != 400 {
		t.Errorf("HEAD with a forged token: %d", r.code)
	}
	if r := e.do(nil, "GET", "/weekly/confirm/"+tok, nil); r.code != 200 || !strings.Contains(r.body, "You are subscribed") {
		t.Fatalf("GET after HEADs: %d\n%s", r.code, r.body)
	}
}

// The RFC 8058 exemption from CSRF is for the unsubscribe path only: the
// same body on the preferences form does nothing.
func TestOneClickBodyIsNoCSRFBypass(t *testing.T) {
	e := newEnv(t)
	s := e.addSub(e.en, "keep@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	path := "/weekly/preferences/" + e.tok(token.Preferences, e.en, s.ID)
	for _, action := range []string{"unsubscribe", "unsubscribe-all", "save"} {
		f := url.Values{"List-Unsubscribe": {"One-Click"}, "action": {action}, "topics": {"energy"}}
		if r := e.do(nil, "POST", path, f); r.code != 403 {
			t.Errorf("%s with a one-click body and no csrf: %d", action, r.code)
		}
	}
	if ss := e.subscription(e.en, "keep@example.net"); ss.Status != tidings.StatusConfirmed || !ss.AllTopics {
		t.Errorf("subscription changed: %+v", ss)
	}
	// And a one-click POST to the unsubscribe path with a preferences
	// token is refused (token scoped to its purpose).
	if r := e.do(nil, "POST", "/weekly/unsubscribe/"+e.tok(token.Preferences, e.en, s.ID), url.Values{"List-Unsubscribe": {"One-Click"}}); r.code != 400 {
		t.Errorf("one-click with a preferences token: %d", r.code)
	}
	// GET and HEAD of the unsubscribe link never unsubscribe, whatever the
	// query says.
	u := "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID) + "?List-Unsubscribe=One-Click"
	for _, m := range []string{"GET", "HEAD"} {
		e.do(nil, m, u, nil)
	}
	if st := e.subscription(e.en, "keep@example.net").Status; st != tidings.StatusConfirmed {
		t.Errorf("status %s after GET/HEAD with a one-click query", st)
	}
}

// blockingMailer holds every mail until released.
type blockingMailer struct {
	release chan struct{}
	mu      sync.Mutex
	got     []string
}

func (b *blockingMailer) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	b.got = append(b.got, to...)
	b.mu.Unlock()
	return nil
}

// With a stalled relay, mails waiting in the background are bounded; the
// answer page stays the same; Shutdown gives up when its context ends.
func TestReaderMailQueueBounded(t *testing.T) {
	bm := &blockingMailer{release: make(chan struct{})}
	e := newEnv(t, func(c *web.Config) {
		c.Mailer = bm
		c.MaxQueuedMails = 3
		c.IPLimit = web.Limit{Every: -1}
	})
	post := func(email string) *httptest.ResponseRecorder {
		form := url.Values{"email": {email}, "topics": {"energy"}}
		req := httptest.NewRequest("POST", "/weekly/subscribe", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		return w
	}
	var first string
	for i := range 6 {
		w := post(string(rune('a'+i)) + "@example.net")
		if w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
		if i == 0 {
			first = w.Body.String()
		} else if w.Body.String() != first {
			t.Errorf("answer %d differs: %s", i, w.Body.String())
		}
	}
	close(bm.release)
	e.srv.Wait()
	if len(bm.got) != 3 {
		t.Errorf("%d mails sent, want the 3 that may wait: %v", len(bm.got), bm.got)
	}

	// Shutdown with mails stuck at the relay gives up when its context
	// ends, and cancels them.
	stuck := &blockingMailer{release: make(chan struct{})}
	e2 := newEnv(t, func(c *web.Config) { c.Mailer = stuck })
	if w := e2.subscribeForm(e2.browser(), "weekly", "stuck@example.net", "", "energy"); w.code != 200 {
		t.Fatalf("subscribe: %d", w.code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e2.srv.Shutdown(ctx); err == nil {
		t.Error("Shutdown returned nil with a mail stuck at the relay")
	}
	e2.srv.Wait() // returns: the stuck send was cancelled
	if len(stuck.got) != 0 {
		t.Errorf("cancelled mail counted as sent: %v", stuck.got)
	}
	// With nothing in flight, Shutdown returns at once.
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Errorf("idle Shutdown: %v", err)
	}
}

// A client that sends its form body a byte at a time is cut off by the
// server, even without timeouts on the http.Server in front.
func TestSlowBodyCutOff(t *testing.T) {
	e := newEnv(t, func(c *web.Config) { c.BodyTimeout = 200 * time.Millisecond })
	s := e.addSub(e.en, "slow@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	u, _ := url.Parse(e.ts.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second)) // the test's own bound, far above the server's
	path := "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID)
	req := "POST " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nList-Unsub"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 400 {
		t.Errorf("stalled body: %d", res.StatusCode)
	}
	if st := e.subscription(e.en, "slow@example.net").Status; st != tidings.StatusConfirmed {
		t.Errorf("status %s", st)
	}
}

// An error is shown next to the field it is about, the field is marked
// invalid and points at it, and the keyboard lands there.
func TestFormErrorsNextToTheirField(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	tok := csrfOf(t, e.do(c, "GET", "/keji/subscribe", nil).body)
	cases := []struct {
		name, field string
		form        url.Values
		want        []string
	}{
		{"email", "email", url.Values{"email": {"nope"}, "topics": {"ai"}},
			[]string{`id="email-error">请输入有效的电子邮箱地址`, `value="nope" aria-invalid="true" aria-describedby="email-error" autofocus`}},
		{"name", "name", url.Values{"email": {"a@example.net"}, "name": {strings.Repeat("名", 201)}, "topics": {"ai"}},
			[]string{`id="name-error">称呼太长了`, `aria-invalid="true" aria-describedby="name-error" autofocus`}},
		{"topics", "topics", url.Values{"email": {"a@example.net"}},
			[]string{`<fieldset class="topics" aria-describedby="topics-error topics-hint">`, `id="topics-error">请至少选择一个主题`, `value="ai" autofocus`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", tok)
			r := e.do(c, "POST", "/keji/subscribe", tc.form)
			if r.code != 400 {
				t.Fatalf("%d", r.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q:\n%s", w, r.body)
				}
			}
			if n := strings.Count(r.body, `class="error"`); n != 1 {
				t.Errorf("%d error boxes, want 1", n)
			}
			if n := strings.Count(r.body, "aria-invalid"); n != 1 && tc.field != "topics" {
				t.Errorf("%d fields marked invalid", n)
			}
		})
	}
	// Chinese punctuation on the preferences page.
	s := e.addSub(e.zh, "zh@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	r := e.do(nil, "GET", "/keji/preferences/"+e.tok(token.Preferences, e.zh, s.ID), nil)
	if !strings.Contains(r.body, "<strong>状态：</strong>") {
		t.Errorf("zh status label:\n%s", r.body)
	}
}

// Sub-addresses and Gmail's dots reach one mailbox: they share the
// per-address limit, so tags cannot multiply the mails to one person.
func TestAddressLimitCoversSubaddresses(t *testing.T) {
	e := newEnv(t, func(c *web.Config) {
		c.IPLimit = web.Limit{Every: -1}
		c.AddrLimit = web.Limit{Every: time.Hour, Burst: 2}
	})
	for i, addr := range []string{"victim@gmail.com", "victim+1@gmail.com", "v.i.c.t.i.m+2@gmail.com", "Victim+3@googlemail.com", "victim+4@example.net", "victim+5@example.net", "victim@example.net"} {
		form := url.Values{"email": {addr}, "topics": {"energy"}}
		req := httptest.NewRequest("POST", "/weekly/subscribe", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.RemoteAddr = "198.51.100." + string(rune('1'+i)) + ":1000"
		w := httptest.NewRecorder()
		e.srv.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: %d", addr, w.Code)
		}
	}
	perBox := map[string]int{}
	for _, m := range e.mails() {
		perBox[m.to[strings.LastIndexByte(m.to, '@'):]]++
	}
	if perBox["@gmail.com"]+perBox["@googlemail.com"] != 2 || perBox["@example.net"] != 2 {
		t.Errorf("mails per mailbox: %v, want 2 each", perBox)
	}
}

// Form bodies are bounded (64 KiB): a large body is refused before it is
// parsed, urlencoded or multipart, and changes nothing.
func TestLargeBodyRefused(t *testing.T) {
	e := newEnv(t)
	s := e.addSub(e.en, "big@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	path := "/weekly/unsubscribe/" + e.tok(token.Unsubscribe, e.en, s.ID)
	pad := strings.Repeat("x", 200<<10)
	if r := e.do(nil, "POST", path, url.Values{"List-Unsubscribe": {"One-Click"}, "pad": {pad}}); r.code != 400 {
		t.Errorf("200 KiB urlencoded body: %d", r.code)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("List-Unsubscribe", "One-Click")
	fw, _ := mw.CreateFormFile("f", "f.bin")
	fw.Write([]byte(pad))
	mw.Close()
	if r := e.do(nil, "POST", path, nil, "Content-Type", mw.FormDataContentType()); r.code == 200 {
		t.Errorf("multipart type, empty body: 200")
	}
	if r := e.doBody("POST", path, &b, "Content-Type", mw.FormDataContentType()); r.code != 400 {
		t.Errorf("200 KiB multipart body: %d", r.code)
	}
	if st := e.subscription(e.en, "big@example.net").Status; st != tidings.StatusConfirmed {
		t.Errorf("status %s after oversized bodies", st)
	}
	// The subscribe form too.
	c := e.browser()
	tok := csrfOf(t, e.do(c, "GET", "/weekly/subscribe", nil).body)
	if r := e.do(c, "POST", "/weekly/subscribe", url.Values{"csrf": {tok}, "email": {"big2@example.net"}, "topics": {"energy"}, "pad": {pad}}); r.code != 400 {
		t.Errorf("200 KiB subscribe body: %d", r.code)
	}
	if n := len(e.mails()); n != 0 {
		t.Errorf("%d mails", n)
	}
}

// doBody is e.do with a raw body.
func (e *env) doBody(method, path string, body io.Reader, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}
