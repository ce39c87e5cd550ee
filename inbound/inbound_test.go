package inbound

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// testClock is the injected clock: tests move time instead of sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// confirmer is the same wiring as cmd/tidings: the web form's double
// opt-in (subscribers.RequestSubscription) and its confirmation mail
// (render.ConfirmationMail), on the real store and renderer.
type confirmer struct {
	store *subscribers.Store
	r     *render.Renderer
}

func (c confirmer) SubscribeMail(ctx context.Context, list *tidings.List, email, name string, topics []string) ([]byte, string, error) {
	tc := subscribers.TopicChoice{All: topics == nil, Slugs: topics}
	out, err := c.store.RequestSubscription(ctx, list.ID, email, name, tc)
	if err != nil {
		return nil, "", err
	}
	all, err := c.store.Topics(ctx, list.ID)
	if err != nil {
		return nil, "", err
	}
	switch out.Reply() {
	case subscribers.ReplyConfirm:
		return c.r.ConfirmationMail(list, all, *out.Subscriber, render.Confirm)
	case subscribers.ReplyManage:
		return c.r.ConfirmationMail(list, all, *out.Subscriber, render.Manage)
	}
	return nil, "", nil
}

func (c confirmer) LeaveMail(ctx context.Context, list *tidings.List, email string) ([]byte, string, error) {
	sub, err := c.store.Get(ctx, email)
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil, "", ErrNotSubscribed
	}
	if err != nil {
		return nil, "", err
	}
	for _, ss := range sub.Subscriptions {
		if ss.ListID == list.ID && (ss.Status == tidings.StatusConfirmed || ss.Status == tidings.StatusPending) {
			return c.r.ConfirmationMail(list, nil, *sub, render.Leave)
		}
	}
	return nil, "", ErrNotSubscribed
}

type env struct {
	t      testing.TB
	ctx    context.Context
	d      *db.DB
	store  *subscribers.Store
	signer *token.Signer
	clock  *testClock
	list   *tidings.List
	reader int64 // reader@example.com, confirmed, all topics
	issue  int64 // issue 7, delivered to reader
	sink   *smtpsink.Server
	proc   *Processor
	srv    *Server
	addr   string // the inbound SMTP listener
}

type envOption func(*Config, *ServerConfig)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, d: dbtest.MustOpenDB(t), clock: &testClock{t: time.Date(2024, 7, 16, 0, 0, 0, 0, time.UTC)}}
	e.d.Now = e.clock.Now
	e.store = subscribers.NewStore(e.d)
	secret, err := e.d.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.signer = token.New(secret)
	e.signer.Now = e.clock.Now
	e.list = &tidings.List{Slug: "keji", Name: "科技情报", From: "科技情报 <news@news.example.org>", Lang: tidings.LangZH}
	if err := e.store.CreateList(ctx, e.list); err != nil {
		t.Fatal(err)
	}
	for _, tp := range []tidings.Topic{{Slug: "ylkj", Name: "养老科技"}, {Slug: "biomed", Name: "生物医药"}, {Slug: "space", Name: "Space Tech"}} {
		if err := e.store.AddTopic(ctx, e.list.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := e.store.Subscribe(ctx, e.list.ID, "reader@example.com", "Reader", subscribers.AllTopics, tidings.StatusConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	e.reader = sub.ID
	e.issue = e.addIssue(7)

	e.sink, err = smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sink.Close() })
	relay, err := mailer.ParseRelayURL("smtp://" + e.sink.Addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		DB: e.d, Signer: e.signer, Directory: e.store, Now: e.clock.Now,
		Confirmer: confirmer{store: e.store, r: &render.Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: e.signer, Now: e.clock.Now}},
		Sender:    mailer.NewOneOff([]mailer.Relay{relay}, mailer.OneOffOptions{}),
	}
	scfg := ServerConfig{Domain: "mx.news.example.org"}
	for _, o := range opts {
		o(&cfg, &scfg)
	}
	e.proc, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scfg.Processor = e.proc
	e.srv, err = NewServer(scfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// addIssue stores a sent issue with a delivery row for the reader.
func (e *env) addIssue(number int) int64 {
	e.t.Helper()
	now := db.Unix(e.clock.Now())
	var id int64
	err := e.d.WriteTx(e.ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec("INSERT INTO issues (list_id, number, title, status, created_at, sent_at) VALUES (?, ?, ?, 'sent', ?, ?)",
			e.list.ID, number, fmt.Sprintf("第%d期", number), now, now)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		_, err = tx.Exec("INSERT INTO deliveries (issue_id, subscriber_id, state, created_at, updated_at, sent_at) VALUES (?, ?, 'sent', ?, ?, ?)",
			id, e.reader, now, now, now)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) verp(issue int64) string {
	tok := e.signer.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: e.reader, ListID: e.list.ID, IssueID: issue})
	return tidings.BounceAddress(tok, e.list.Domain())
}

func (e *env) unsubAddr() string {
	tok := e.signer.Sign(token.Claims{Purpose: token.Unsubscribe, SubscriberID: e.reader, ListID: e.list.ID})
	return tidings.UnsubscribeAddress(tok, e.list.Domain())
}

// fixture reads testdata/name with the token placeholders filled in.
func (e *env) fixture(name string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		e.t.Fatal(err)
	}
	s := strings.NewReplacer("@@VERP@@", e.verp(e.issue), "@@UNSUB@@", e.unsubAddr()).Replace(string(b))
	return []byte(s)
}

// send delivers msg over a real SMTP connection; the first refusal is
// returned.
func send(addr, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example.net"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rc := range to {
		if err := c.Rcpt(rc); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func (e *env) mustSend(from string, to []string, msg []byte) {
	e.t.Helper()
	if err := send(e.addr, from, to, msg); err != nil {
		e.t.Fatalf("send to %v: %v", to, err)
	}
}

func (e *env) status(email string) tidings.Status {
	e.t.Helper()
	var st string
	err := e.d.R.QueryRow(`SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id
		WHERE s.list_id = ? AND p.email_key = ?`, e.list.ID, strings.ToLower(email)).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return tidings.Status(st)
}

func (e *env) deliveryState(issue int64) string {
	e.t.Helper()
	var st string
	if err := e.d.R.QueryRow("SELECT state FROM deliveries WHERE issue_id = ? AND subscriber_id = ?", issue, e.reader).Scan(&st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

type bounceRow struct {
	Kind, Code, Source string
	Issue              int64
	Diagnostic         string
}

func (e *env) bounces() []bounceRow {
	e.t.Helper()
	rows, err := e.d.R.Query("SELECT kind, code, source, coalesce(issue_id, 0), diagnostic FROM bounces WHERE subscriber_id = ? ORDER BY id", e.reader)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []bounceRow
	for rows.Next() {
		var b bounceRow
		if err := rows.Scan(&b.Kind, &b.Code, &b.Source, &b.Issue, &b.Diagnostic); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestFixturesOverSMTP(t *testing.T) {
	type want struct {
		kind, code string // "" kind: no bounces row
		source     string
		status     tidings.Status
		delivery   string
	}
	cases := []struct {
		fixture string
		from    string // MAIL FROM; "" is <>
		rcpt    string // verp | unsub
		want    want
	}{
		{"postfix-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"postfix-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"exim-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/text", tidings.StatusBounced, "bounced"}},
		{"exim-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"microsoft-hard.eml", "", "verp", want{KindHard, "5.1.10", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"microsoft-soft.eml", "", "verp", want{KindSoft, "5.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"gmail-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"gmail-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"qmail-nonstandard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/text", tidings.StatusBounced, "bounced"}},
		{"arf.eml", "", "verp", want{KindComplaint, "", "smtp/arf", tidings.StatusUnsubscribed, "complained"}},
		// Auto-replies carry bounce words and codes in their text and
		// still change nothing.
		{"out-of-office.eml", "reader@example.com", "verp", want{"", "", "", tidings.StatusConfirmed, "sent"}},
		{"postfix-delay.eml", "", "verp", want{"", "", "", tidings.StatusConfirmed, "sent"}},
		{"unsubscribe-mailto.eml", "reader@example.com", "unsub", want{"", "", "", tidings.StatusUnsubscribed, "sent"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			rcpt := e.verp(e.issue)
			if tc.rcpt == "unsub" {
				rcpt = e.unsubAddr()
			}
			e.mustSend(tc.from, []string{rcpt}, e.fixture(tc.fixture))
			got := e.bounces()
			if tc.want.kind == "" {
				if len(got) != 0 {
					t.Errorf("bounces = %+v, want none", got)
				}
			} else {
				if len(got) != 1 {
					t.Fatalf("bounces = %+v, want one", got)
				}
				b := got[0]
				if b.Kind != tc.want.kind || b.Code != tc.want.code || b.Source != tc.want.source || b.Issue != e.issue {
					t.Errorf("bounce = %+v, want kind %s code %s source %s issue %d", b, tc.want.kind, tc.want.code, tc.want.source, e.issue)
				}
				if b.Kind != KindComplaint && b.Diagnostic == "" {
					t.Errorf("bounce has no diagnostic: %+v", b)
				}
			}
			if st := e.status("reader@example.com"); st != tc.want.status {
				t.Errorf("status = %s, want %s", st, tc.want.status)
			}
			if st := e.deliveryState(e.issue); st != tc.want.delivery {
				t.Errorf("delivery = %s, want %s", st, tc.want.delivery)
			}
			if n := e.sink.Count(); n != 0 {
				t.Errorf("%d mails sent, want none (bounces and reports are never answered)", n)
			}
		})
	}
}

func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 2 })
	msg := e.fixture("postfix-hard.eml")
	e.mustSend("", []string{e.verp(e.issue)}, msg)
	e.mustSend("", []string{e.verp(e.issue)}, msg) // the MTA retries after a lost reply
	if got := e.bounces(); len(got) != 1 {
		t.Fatalf("bounces = %+v, want one", got)
	}
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed (one of two hard bounces)", st)
	}
}

func TestHardBounceLimit(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 2 })
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-hard.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Fatalf("after 1 hard bounce: status = %s, want confirmed", st)
	}
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("gmail-hard.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusBounced {
		t.Fatalf("after 2 hard bounces: status = %s, want bounced", st)
	}
}

func TestSoftBounceWindow(t *testing.T) {
	e := newEnv(t) // default: 3 soft bounces within 30 days
	day := 24 * time.Hour
	steps := []struct {
		advance time.Duration
		want    tidings.Status
	}{
		{0, tidings.StatusConfirmed},        // day 0: 1 in window
		{20 * day, tidings.StatusConfirmed}, // day 20: 2
		{20 * day, tidings.StatusConfirmed}, // day 40: day 0 fell out, 2
		{5 * day, tidings.StatusBounced},    // day 45: days 20, 40, 45
		{100 * day, tidings.StatusBounced},  // stays bounced
	}
	for i, s := range steps {
		e.clock.Add(s.advance)
		msg := append([]byte(fmt.Sprintf("X-Test-Seq: %d\r\n", i)), e.fixture("postfix-soft.eml")...)
		e.mustSend("", []string{e.verp(e.issue)}, msg)
		if st := e.status("reader@example.com"); st != s.want {
			t.Fatalf("step %d: status = %s, want %s", i, st, s.want)
		}
	}
	if n := len(e.bounces()); n != len(steps) {
		t.Errorf("%d bounces recorded, want %d", n, len(steps))
	}
}

func TestRelayRefusedAtRcpt(t *testing.T) {
	e := newEnv(t)
	bounceTok := e.signer.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: e.reader, ListID: e.list.ID, IssueID: e.issue})
	prefTok := e.signer.Sign(token.Claims{Purpose: token.Preferences, SubscriberID: e.reader, ListID: e.list.ID})
	other := token.New([]byte("another secret, another database"))
	forged := other.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: e.reader, ListID: e.list.ID, IssueID: e.issue})
	refused := []string{
		"victim@gmail.example.com",                        // relay to another domain
		"news@news.example.org",                           // the list's From is not an inbound address
		"postmaster@news.example.org",                     // nor anything else at the domain
		"bounces+" + forged + "@news.example.org",         // token signed with another key
		"bounces+" + bounceTok[:20] + "@news.example.org", // truncated token
		"bounces+" + bounceTok + "@other.example.org",     // right token, wrong domain
		"unsubscribe+" + bounceTok + "@news.example.org",  // token for another purpose
		"bounces+" + prefTok + "@news.example.org",
		"nosuch+subscribe@news.example.org", // no such list
		"keji+subscribe@other.example.org",  // list at another domain
		"keji+confirm@news.example.org",     // no such detail
		"keji@news.example.org",
	}
	for _, rc := range refused {
		err := send(e.addr, "spammer@example.net", []string{rc}, []byte("Subject: hi\r\n\r\nhi\r\n"))
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 550 || !strings.HasPrefix(te.Msg, "5.7.1") {
			t.Errorf("RCPT %s: err = %v, want 550 5.7.1", rc, err)
		}
	}
	accepted := []string{e.verp(e.issue), strings.ToUpper(e.verp(e.issue)), e.unsubAddr(), "keji+subscribe@news.example.org", "KEJI+unsubscribe@NEWS.example.org"}
	for _, rc := range accepted {
		c, err := smtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Mail(""); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(rc); err != nil {
			t.Errorf("RCPT %s: %v, want accepted", rc, err)
		}
		c.Close()
	}
}

func TestSMTPLimits(t *testing.T) {
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.MaxRecipients = 2; s.MaxMessageBytes = 4096 })
	rc := e.verp(e.issue)
	err := send(e.addr, "", []string{rc, rc, rc}, []byte("Subject: x\r\n\r\nx\r\n"))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 452 {
		t.Errorf("3 recipients with a limit of 2: err = %v, want 452", err)
	}
	big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 1000)...)
	err = send(e.addr, "", []string{rc}, big)
	if !errors.As(err, &te) || te.Code != 552 {
		t.Errorf("18 KB message with a limit of 4 KB: err = %v, want 552", err)
	}
}

// sentTo returns the messages the sink got for addr, parsed.
func (e *env) sentTo(addr string) []*enmime.Envelope {
	e.t.Helper()
	var out []*enmime.Envelope
	for _, m := range e.sink.Messages() {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) {
			env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, env)
		}
	}
	return out
}

func (e *env) topicsOf(email string) []string {
	e.t.Helper()
	sub, err := e.store.Get(e.ctx, email)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ss := range sub.Subscriptions {
		if ss.ListID == e.list.ID {
			if ss.AllTopics {
				return []string{"all"}
			}
			return ss.Topics
		}
	}
	return nil
}

func TestSubscribeByMail(t *testing.T) {
	cases := []struct {
		fixture, email string
		topics         []string
	}{
		{"subscribe.eml", "alice@example.net", []string{"biomed"}},
		{"subscribe-zh.eml", "wang@example.cn", []string{"biomed", "ylkj"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			e.mustSend(tc.email, []string{"keji+subscribe@news.example.org"}, e.fixture(tc.fixture))
			if st := e.status(tc.email); st != tidings.StatusPending {
				t.Fatalf("status = %q, want pending (double opt-in)", st)
			}
			got := e.topicsOf(tc.email)
			if strings.Join(got, ",") != strings.Join(tc.topics, ",") {
				t.Errorf("topics = %v, want %v", got, tc.topics)
			}
			mails := e.sentTo(tc.email)
			if len(mails) != 1 {
				t.Fatalf("%d mails to %s, want one confirmation", len(mails), tc.email)
			}
			m := mails[0]
			if s := m.GetHeader("Subject"); !strings.Contains(s, "确认订阅") {
				t.Errorf("subject %q: want the confirmation mail", s)
			}
			if !strings.Contains(m.Text, "https://news.example.org/keji/confirm/") {
				t.Errorf("confirmation mail has no confirm link:\n%s", m.Text)
			}
		})
	}
}

func TestSubscribeConfirmedGetsManageMail(t *testing.T) {
	e := newEnv(t)
	msg := []byte("From: Reader <reader@example.com>\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <m1@example.com>\r\n\r\nhi\r\n")
	e.mustSend("reader@example.com", []string{"keji+subscribe@news.example.org"}, msg)
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed (unchanged)", st)
	}
	mails := e.sentTo("reader@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "/keji/preferences/") {
		t.Fatalf("want one manage mail with a preferences link, got %d", len(mails))
	}
}

func TestLeaveByMail(t *testing.T) {
	e := newEnv(t)
	e.mustSend("reader@example.com", []string{"keji+unsubscribe@news.example.org"}, e.fixture("leave.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed until the link is used (From can be forged)", st)
	}
	mails := e.sentTo("reader@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "https://news.example.org/keji/unsubscribe/") {
		t.Fatalf("want one mail with an unsubscribe link, got %d", len(mails))
	}
	// A stranger's leave request: nothing to answer, nothing revealed.
	msg := bytes.ReplaceAll(e.fixture("leave.eml"), []byte("reader@example.com"), []byte("stranger@example.com"))
	e.mustSend("stranger@example.com", []string{"keji+unsubscribe@news.example.org"}, msg)
	if n := e.sink.Count(); n != 1 {
		t.Errorf("%d mails sent, want still 1", n)
	}
}

func TestNoReplyLoops(t *testing.T) {
	base := "To: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <loop@x>\r\n"
	cases := []struct {
		name, mailFrom, headers string
	}{
		{"From is the list itself", "news@news.example.org", "From: 科技情报 <news@news.example.org>\r\n"},
		{"MAIL FROM is the list", "news@news.example.org", "From: someone@example.net\r\n"},
		{"From is a list inbound address", "x@example.net", "From: keji+subscribe@news.example.org\r\n"},
		{"From is a VERP address", "x@example.net", "From: bounces+abc@news.example.org\r\n"},
		{"null sender", "", "From: someone@example.net\r\n"},
		{"mailer daemon", "MAILER-DAEMON@example.net", "From: MAILER-DAEMON@example.net\r\n"},
		{"auto-submitted", "someone@example.net", "From: someone@example.net\r\nAuto-Submitted: auto-replied\r\n"},
		{"x-autoreply", "someone@example.net", "From: someone@example.net\r\nX-Autoreply: yes\r\n"},
		{"precedence bulk", "someone@example.net", "From: someone@example.net\r\nPrecedence: bulk\r\n"},
		{"list mail", "someone@example.net", "From: someone@example.net\r\nList-Id: Other list <other.example.net>\r\n"},
		{"report", "someone@example.net", "From: someone@example.net\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"},
		{"no From", "someone@example.net", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			msg := tc.headers + base + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
			e.mustSend(tc.mailFrom, []string{"keji+subscribe@news.example.org"}, []byte(msg))
			if n := e.sink.Count(); n != 0 {
				t.Errorf("%d mails sent, want none", n)
			}
			if st := e.status("someone@example.net"); st != "" {
				t.Errorf("someone@example.net is %s, want not subscribed", st)
			}
		})
	}
}

func TestReplyRateLimit(t *testing.T) {
	e := newEnv(t)
	sendOne := func(i int) {
		msg := fmt.Sprintf("From: victim@example.net\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <r%d@example.net>\r\n\r\nhi\r\n", i)
		e.mustSend("victim@example.net", []string{"keji+subscribe@news.example.org"}, []byte(msg))
	}
	for i := range 5 {
		sendOne(i)
	}
	if n := e.sink.Count(); n != 3 {
		t.Fatalf("%d answers to one address within an hour, want 3", n)
	}
	e.clock.Add(61 * time.Minute)
	sendOne(5)
	if n := e.sink.Count(); n != 4 {
		t.Errorf("%d answers after the window passed, want 4", n)
	}
}

func TestComplaintToListAddressFindsReader(t *testing.T) {
	// A feedback loop configured to report to LIST+unsubscribe@: the
	// reader and issue come from the reported message's Return-Path.
	e := newEnv(t)
	e.mustSend("", []string{"keji+unsubscribe@news.example.org"}, e.fixture("arf.eml"))
	got := e.bounces()
	if len(got) != 1 || got[0].Kind != KindComplaint || got[0].Issue != e.issue {
		t.Fatalf("bounces = %+v, want one complaint on issue %d", got, e.issue)
	}
	if st := e.status("reader@example.com"); st != tidings.StatusUnsubscribed {
		t.Errorf("status = %s, want unsubscribed", st)
	}
	if n := e.sink.Count(); n != 0 {
		t.Errorf("%d mails sent, want none", n)
	}
}

func TestMatchTopics(t *testing.T) {
	topics := []tidings.Topic{{Slug: "ylkj", Name: "养老科技"}, {Slug: "biomed", Name: "生物医药"}, {Slug: "space", Name: "Space Tech"}, {Slug: "ai", Name: "AI"}}
	cases := []struct {
		subject string
		want    string
	}{
		{"订阅 养老科技 生物医药", "ylkj,biomed"},
		{"订阅养老科技和生物医药", "ylkj,biomed"},
		{"subscribe biomed", "biomed"},
		{"Subscribe BIOMED, space", "biomed,space"},
		{"subscribe to space tech please", "space"},
		{"subscribe", ""},
		{"订阅", ""},
		{"spacetech maintenance", ""}, // ASCII names match whole words only
		{"mail me", ""},               // "ai" inside a word is not the topic
		{"subscribe ai", "ai"},
	}
	for _, tc := range cases {
		got := strings.Join(matchTopics(tc.subject, topics), ",")
		if got != tc.want {
			t.Errorf("matchTopics(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
}

func TestProcessWithoutEnvelopeRecipient(t *testing.T) {
	// The POP3 path: the list address comes from the message itself.
	e := newEnv(t)
	raw := e.fixture("postfix-hard.eml")
	// Delivered to a plain bounce mailbox: only the reported message's
	// Return-Path carries the token.
	raw = bytes.Replace(raw, []byte("To: "+e.verp(e.issue)+"\n"), []byte("To: postmaster@news.example.org\n"), 1)
	res, err := e.proc.ProcessEnvelope(e.ctx, Envelope{NullSender: true, Source: "pop3"}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionBounce || res.Kind != KindHard || res.IssueID != e.issue {
		t.Errorf("result = %+v, want a hard bounce on issue %d", res, e.issue)
	}
	_, err = e.proc.ProcessEnvelope(e.ctx, Envelope{Source: "pop3"}, []byte("From: a@example.net\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhi\r\n"))
	if !errors.Is(err, ErrNoRecipient) {
		t.Errorf("foreign message: err = %v, want ErrNoRecipient", err)
	}
}

var _ io.Writer = slogWriter{}

func TestBounceForErasedReader(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Delete(e.ctx, "reader@example.com"); err != nil {
		t.Fatal(err)
	}
	// The VERP token still verifies, so the MTA's bounce is accepted and
	// dropped: nothing may recreate the erased person.
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-hard.eml"))
	var n int
	if err := e.d.R.QueryRow("SELECT count(*) FROM bounces").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d bounces rows (%v), want 0", n, err)
	}
}

func TestSeenKeysArePruned(t *testing.T) {
	e := newEnv(t)
	count := func() int {
		var n int
		if err := e.d.R.QueryRow("SELECT count(*) FROM inbound_seen").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-delay.eml"))
	if count() != 1 {
		t.Fatalf("inbound_seen has %d keys, want 1", count())
	}
	e.clock.Add(seenTTL + 48*time.Hour)
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("out-of-office.eml"))
	if count() != 1 {
		t.Errorf("inbound_seen has %d keys after %s, want only the new one", count(), seenTTL)
	}
}

// BenchmarkProcessDSN measures one bounce from parse to commit (Gmail's
// DSN, the most deeply nested fixture) on a real SQLite file.
func BenchmarkProcessDSN(b *testing.B) {
	e := newEnv(b, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 1 << 30 })
	raw := e.fixture("gmail-hard.eml")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; b.Loop(); i++ {
		res, err := e.proc.ProcessEnvelope(e.ctx, Envelope{Rcpt: e.verp(e.issue), NullSender: true, Key: fmt.Sprint("bench-", i)}, raw)
		if err != nil || res.Action != ActionBounce {
			b.Fatalf("%+v, %v", res, err)
		}
	}
}

// BenchmarkSMTPBounce measures a bounce delivered over a loopback SMTP
// connection to the listener, one connection per message.
func BenchmarkSMTPBounce(b *testing.B) {
	e := newEnv(b, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 1 << 30 })
	raw := e.fixture("postfix-hard.eml")
	rc := e.verp(e.issue)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		msg := append([]byte(fmt.Sprintf("X-Seq: %d\r\n", i)), raw...)
		if err := send(e.addr, "", []string{rc}, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProcessReadsReturnPath: Process, without the SMTP envelope, takes the
// null sender from the Return-Path header, so a bounce that happens to
// reach a subscribe address is still never answered.
func TestProcessReadsReturnPath(t *testing.T) {
	e := newEnv(t)
	msg := []byte("Return-Path: <>\r\nFrom: someone@example.net\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\n\r\nhi\r\n")
	res, err := e.proc.Process(e.ctx, "keji+subscribe@news.example.org", msg)
	if err != nil || res.Action != ActionIgnored || res.Replied {
		t.Fatalf("null Return-Path: %+v, %v; want ignored", res, err)
	}
	msg = bytes.Replace(msg, []byte("<>"), []byte("<someone@example.net>"), 1)
	res, err = e.proc.Process(e.ctx, "keji+subscribe@news.example.org", msg)
	if err != nil || res.Action != ActionSubscribe || !res.Replied {
		t.Fatalf("ordinary Return-Path: %+v, %v; want answered", res, err)
	}
	res, err = e.proc.Process(e.ctx, e.verp(e.issue), e.fixture("exim-soft.eml"))
	if err != nil || res.Action != ActionBounce || res.Kind != KindSoft || res.SubscriberID != e.reader {
		t.Fatalf("bounce: %+v, %v", res, err)
	}
	if _, err := e.proc.Process(e.ctx, "news@news.example.org", msg); !errors.Is(err, ErrNotOurs) {
		t.Errorf("not a list address: err = %v, want ErrNotOurs", err)
	}
}
