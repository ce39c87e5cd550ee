package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
