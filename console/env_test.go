package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/console"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/subscribers"
)

// samplePath is the bulletin our first user sends: the editor journey
// imports it through the console.
const samplePath = "/work/shared/samples/keji-qingbao-2024-07.md"

// sample reads the bulletin: from the shared samples when present, else
// the copy in testdata.
func sample(t testing.TB) []byte {
	t.Helper()
	for _, p := range []string{"testdata/keji-qingbao-2024-07.md", samplePath} {
		if b, err := os.ReadFile(p); err == nil {
			return b
		}
	}
	t.Fatal("sample bulletin not found")
	return nil
}

// Accounts of every test: an admin of every list, an editor of keji and
// an editor of the other list.
const (
	adminEmail  = "admin@example.org"
	editorEmail = "editor@example.org"
	otherEmail  = "other@example.org"
	password    = "correct horse battery"
)

// env is the console over a real SQLite file and a real HTTP server; with
// mail, a real Mailpit, the real delivery engine and the real scheduler
// as serve runs them.
type env struct {
	t      testing.TB
	d      *db.DB
	svc    *ops.Service
	ts     *httptest.Server
	mp     testpeers.Mailpit
	keji   *tidings.List
	other  *tidings.List
	issues map[string]int64
}

type envOpts struct {
	mail    bool     // Mailpit, engine and scheduler
	trusted []string // the console's TrustedOrigins
	secure  bool     // SecureCookies
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{t: t, d: dbtest.MustOpenDB(t), issues: map[string]int64{}}
	var h http.Handler
	var mu sync.Mutex
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hh := h
		mu.Unlock()
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(e.ts.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	links := tidings.Links{Base: e.ts.URL}
	deps := ops.Deps{DB: e.d, Links: links, Now: time.Now, Logger: log, ConsoleURL: e.ts.URL + "/admin/"}
	var eng *mailer.Engine
	if o.mail {
		e.mp = testpeers.StartMailpit(t, testpeers.MailpitOptions{})
		relays, err := mailer.ParseRelayURLs([]string{"smtp://" + e.mp.SMTP + "?tls=none"})
		if err != nil {
			t.Fatal(err)
		}
		eng = mailer.New(mailer.Config{Relays: relays, Concurrency: 2, Now: time.Now, Logger: log, Poll: 100 * time.Millisecond},
			mailer.Deps{DB: e.d, Campaigns: ops.Campaigns(e.d, links, time.Now), Recipients: subscribers.NewStore(e.d)})
		deps.Mail = eng
	}
	e.svc = ops.New(deps)
	e.svc.AuthStore().Params = auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	ch, err := console.New(console.Config{Ops: e.svc, Logger: log, Now: time.Now, TrustedOrigins: o.trusted, SecureCookies: o.secure})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	h = ch
	mu.Unlock()
	if o.mail {
		ctx, cancel := context.WithCancel(context.Background())
		sched := schedule.New(schedule.Config{DB: e.d, Sender: engineSender{eng}, Now: time.Now, Logger: log,
			Poll: 200 * time.Millisecond, Retry: time.Second})
		done := make(chan struct{})
		go func() { sched.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	e.seed()
	return e
}

type engineSender struct{ e *mailer.Engine }

func (s engineSender) Send(ctx context.Context, issueID int64) error {
	_, err := s.e.Send(ctx, issueID, mailer.SendOptions{})
	return err
}

var bg = context.Background()

// seed makes the lists, topics, readers and accounts, as the CLI would.
func (e *env) seed() {
	t := e.t
	cli := ops.CLI()
	e.keji = &tidings.List{Slug: "keji", Name: "科技情报参考", From: "科技情报 <news@keji.example.org>", Lang: tidings.LangZH, TZ: "Asia/Shanghai"}
	e.other = &tidings.List{Slug: "beta", Name: "Beta Weekly", From: "Beta <beta@example.org>", Lang: tidings.LangEN, TZ: "Europe/Berlin"}
	for _, l := range []*tidings.List{e.keji, e.other} {
		if err := e.svc.CreateList(bg, cli, l); err != nil {
			t.Fatalf("create list %s: %v", l.Slug, err)
		}
	}
	for _, tp := range []tidings.Topic{
		{Slug: "eldercare", Name: "养老科技", Keywords: []string{"养老"}},
		{Slug: "biomed", Name: "生物医药", Keywords: []string{"生物医药"}},
		{Slug: "transfer", Name: "成果转化", Keywords: []string{"成果转化"}},
	} {
		if err := e.svc.AddTopic(bg, cli, "keji", &tp); err != nil {
			t.Fatalf("add topic %s: %v", tp.Slug, err)
		}
	}
	if err := e.svc.AddTopic(bg, cli, "beta", &tidings.Topic{Slug: "news", Name: "News"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		email  string
		topics subscribers.TopicChoice
	}{
		{"all@readers.example", subscribers.AllTopics},
		{"care@readers.example", subscribers.TopicChoice{Slugs: []string{"eldercare"}}},
		{"bio@readers.example", subscribers.TopicChoice{Slugs: []string{"biomed"}}},
		{"bio2@readers.example", subscribers.TopicChoice{Slugs: []string{"biomed"}}},
		{"transfer@readers.example", subscribers.TopicChoice{Slugs: []string{"transfer"}}},
	} {
		if _, err := e.svc.AddSubscriber(bg, cli, "keji", r.email, "", r.topics); err != nil {
			t.Fatalf("add %s: %v", r.email, err)
		}
	}
	if _, err := e.svc.AddSubscriber(bg, cli, "beta", "b@readers.example", "", subscribers.AllTopics); err != nil {
		t.Fatal(err)
	}
	for _, u := range []ops.NewUser{
		{Email: adminEmail, Role: tidings.RoleAdmin, Password: password},
		{Email: editorEmail, Role: tidings.RoleEditor, Lists: []string{"keji"}, Password: password},
		{Email: otherEmail, Role: tidings.RoleEditor, Lists: []string{"beta"}, Password: password},
	} {
		if _, _, err := e.svc.AddUser(bg, cli, u); err != nil {
			t.Fatalf("add user %s: %v", u.Email, err)
		}
	}
}

// importAs imports src into list as the CLI would (for tests whose subject
// is not the import page).
func (e *env) importAs(list, name string, src []byte) *tidings.Issue {
	e.t.Helper()
	is, err := e.svc.ImportIssue(bg, ops.CLI(), list, name, src, false)
	if err != nil {
		e.t.Fatalf("import %s: %v", name, err)
	}
	return is
}

// browser is an HTTP client with its own cookie jar that does not follow
// redirects, so tests see each answer.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) answer {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(body)}
}

func (b *browser) get(path string) answer {
	b.e.t.Helper()
	req, _ := http.NewRequest("GET", b.e.ts.URL+path, nil)
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

// post sends a form as a same-origin browser would (Sec-Fetch-Site and
// Origin), with extra headers applied last.
func (b *browser) post(path string, form url.Values, hdr ...string) answer {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Origin", b.e.ts.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// signIn signs in through the form and fails the test unless it worked.
func (b *browser) signIn(email string) {
	b.e.t.Helper()
	a := b.post("/admin/signin", url.Values{"email": {email}, "password": {password}})
	if a.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in %s: %d %s", email, a.status, a.body)
	}
}

// session is the browser's session cookie value, "" when none.
func (b *browser) session() string {
	u, _ := url.Parse(b.e.ts.URL + "/admin/")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "tidings_session" {
			return c.Value
		}
	}
	return ""
}
