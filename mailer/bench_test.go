package mailer

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/token"
)

// sampleFixture is the sample issue, imported and rendered by the real
// packages, with n subscribers inserted in bulk.
type sampleFixture struct {
	d       *db.DB
	list    *tidings.List
	issueID int64
	camp    *Campaign
}

func (f *sampleFixture) Campaign(ctx context.Context, id int64) (*Campaign, error) {
	return f.camp, nil
}

func (f *sampleFixture) Recipients(ctx context.Context, listID int64, fn func(tidings.Recipient) error) error {
	return (&fixture{d: f.d}).Recipients(ctx, listID, fn)
}

type editionComposer struct{ e *render.Edition }

func (c editionComposer) Combination(rc tidings.Recipient) (string, int) { return c.e.Combination(rc) }
func (c editionComposer) Compose(w io.Writer, rc tidings.Recipient, o ComposeOptions) (string, error) {
	mi, err := c.e.WriteMessage(w, rc, render.MessageOptions{To: o.To, Test: o.Test})
	return mi.MessageID, err
}
func (c editionComposer) ReturnPath(rc tidings.Recipient) string { return c.e.ReturnPath(rc) }

func newSampleFixture(tb testing.TB, n int) *sampleFixture {
	tb.Helper()
	ctx := context.Background()
	d := dbtest.MustOpenDB(tb)
	f := &sampleFixture{d: d, list: &tidings.List{Slug: "keji", Name: "科技情报参考", From: "科技情报 <news@example.org>", Lang: tidings.LangZH, TZ: "UTC"}}
	topics := []tidings.Topic{
		{Slug: "ageing", Name: "养老", Keywords: []string{"养老"}},
		{Slug: "biomed", Name: "生物医药", Keywords: []string{"生物医药", "医疗器械"}},
		{Slug: "finance", Name: "科技金融", Keywords: []string{"金融"}},
		{Slug: "space", Name: "航天", Keywords: []string{"航天"}},
	}
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO lists (slug, name, from_addr, lang, created_at) VALUES (?, ?, ?, 'zh', 1)`, f.list.Slug, f.list.Name, f.list.From)
		if err != nil {
			return err
		}
		f.list.ID, _ = res.LastInsertId()
		for i := range topics {
			topics[i].ListID = f.list.ID
			res, err := tx.Exec(`INSERT INTO topics (list_id, slug, name, keywords, created_at) VALUES (?, ?, ?, ?, 1)`,
				f.list.ID, topics[i].Slug, topics[i].Name, topics[i].Keywords[0])
			if err != nil {
				return err
			}
			topics[i].ID, _ = res.LastInsertId()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	src, err := os.ReadFile("../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		tb.Fatal(err)
	}
	is, err := issues.NewStore(d).Import(ctx, f.list.ID, "keji-qingbao-2024-07.md", src, topics)
	if err != nil {
		tb.Fatal(err)
	}
	if is, err = issues.NewStore(d).Get(ctx, is.ID); err != nil {
		tb.Fatal(err)
	}
	f.issueID = is.ID
	if err := InsertSubscribers(ctx, d, f.list.ID, n); err != nil {
		tb.Fatal(err)
	}
	secret, err := d.Secret(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	r := &render.Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: token.New(secret)}
	ed, err := r.Prepare(f.list, topics, is)
	if err != nil {
		tb.Fatal(err)
	}
	f.camp = &Campaign{IssueID: is.ID, ListID: f.list.ID, List: f.list.Slug, Domain: f.list.Domain(), Composer: editionComposer{ed}}
	return f
}

// BenchmarkSend sends the sample issue, rendered per topic combination
// by the real renderer, to b.N subscribers (one message each: an op is a
// message) over 4 connections to a local discard SMTP server, delivery
// log and all. Compare msgs/s with BenchmarkBareSMTP, e.g.
//
//	go test -run x -bench . -benchtime 2000x ./mailer/
func BenchmarkSend(b *testing.B) {
	b.StopTimer()
	f := newSampleFixture(b, b.N)
	sink := startSink(b, smtpsink.Options{Discard: true})
	cfg := Config{Relays: []Relay{sinkRelay(b, sink)}, Concurrency: 4, Poll: 20 * time.Millisecond}
	e := New(cfg, Deps{DB: f.d, Campaigns: f, Recipients: f})
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	rep, err := e.Send(context.Background(), f.issueID, SendOptions{})
	if err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if rep.Sent != b.N || sink.Count() != b.N {
		b.Fatalf("sent %d (server %d), want %d", rep.Sent, sink.Count(), b.N)
	}
	b.ReportMetric(float64(rep.Sent)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkBareSMTP is the yardstick: a bare go-mail/smtp client sending
// b.N pre-built messages of the same issue over the same number of
// connections, with no rendering and no log.
func BenchmarkBareSMTP(b *testing.B) {
	b.StopTimer()
	f := newSampleFixture(b, 4)
	// One pre-built message per topic choice, in the proportions the
	// engine's benchmark sends them.
	var msgs [][]byte
	err := f.Recipients(context.Background(), f.list.ID, func(rc tidings.Recipient) error {
		var msg bytes.Buffer
		_, err := f.camp.Composer.Compose(&msg, rc, ComposeOptions{})
		msgs = append(msgs, msg.Bytes())
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	sink := startSink(b, smtpsink.Options{Discard: true})
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	if err := BareSend(sink.Addr, 4, b.N, msgs); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if sink.Count() != b.N {
		b.Fatalf("server got %d, want %d", sink.Count(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
