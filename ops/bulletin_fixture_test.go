package ops

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
)

// sampleBulletin is the first user's real bulletin (科技情报参考 2024年第7期).
const sampleBulletin = "../testdata/keji-qingbao-2024-07.md"

// bulletinEnv is a Service over a fresh database with the list keji
// (Asia/Shanghai; topics ageing, biomed, finance, space) holding the
// sample bulletin as issue, readers of varied topic choices, and a second
// list other with one reader; and the actors the tests play.
type bulletinEnv struct {
	s      *Service
	d      *db.DB
	ctx    context.Context
	clock  time.Time
	keji   *tidings.List
	other  *tidings.List
	issue  *tidings.Issue
	admin  tidings.Actor // every list
	editor tidings.Actor // editor of keji
	outer  tidings.Actor // editor of other
}

// bulletinReaders are keji's readers: address → topics ("all", or slugs;
// none = no topic) and status.
var bulletinReaders = []struct {
	email  string
	topics []string
	status tidings.Status
}{
	{"all@example.cn", []string{"all"}, tidings.StatusConfirmed},
	{"all2@example.cn", []string{"all"}, tidings.StatusConfirmed},
	{"ageing@example.cn", []string{"ageing"}, tidings.StatusConfirmed},
	{"biomed@example.cn", []string{"biomed"}, tidings.StatusConfirmed},
	{"mixed@example.cn", []string{"ageing", "finance"}, tidings.StatusConfirmed},
	{"finance@example.cn", []string{"finance"}, tidings.StatusConfirmed},
	{"space@example.cn", []string{"space"}, tidings.StatusConfirmed},
	{"space2@example.cn", []string{"space"}, tidings.StatusConfirmed},
	{"none@example.cn", nil, tidings.StatusConfirmed},
	{"pending@example.cn", []string{"ageing"}, tidings.StatusPending},
	{"left@example.cn", []string{"all"}, tidings.StatusUnsubscribed},
}

func newBulletinEnv(t testing.TB, mail TestMailer) *bulletinEnv {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	e := &bulletinEnv{d: d, ctx: context.Background(), clock: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	now := func() time.Time { return e.clock }
	d.Now = now
	e.s = New(Deps{DB: d, Now: now, Links: tidings.Links{Base: "https://news.example.org"}, Mail: mail})
	st := subscribers.NewStore(d)
	e.keji = &tidings.List{Slug: "keji", Name: "科技情报参考", From: "科技情报 <news@example.org>", Lang: "zh", TZ: "Asia/Shanghai"}
	e.other = &tidings.List{Slug: "other", Name: "Other", From: "Other <other@example.org>", TZ: "UTC"}
	for _, l := range []*tidings.List{e.keji, e.other} {
		if err := st.CreateList(e.ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range []tidings.Topic{
		{Slug: "ageing", Name: "养老", Keywords: []string{"养老"}},
		{Slug: "biomed", Name: "生物医药", Keywords: []string{"生物医药", "医疗器械"}},
		{Slug: "finance", Name: "科技金融", Keywords: []string{"金融"}},
		{Slug: "space", Name: "航天", Keywords: []string{"量子"}}, // no article mentions it
	} {
		if err := st.AddTopic(e.ctx, e.keji.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddTopic(e.ctx, e.other.ID, &tidings.Topic{Slug: "misc", Name: "Misc"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range bulletinReaders {
		c := subscribers.TopicChoice{Slugs: r.topics}
		if len(r.topics) == 1 && r.topics[0] == "all" {
			c = subscribers.AllTopics
		} else if r.topics == nil {
			c = subscribers.TopicChoice{Slugs: []string{}}
		}
		if _, err := st.Subscribe(e.ctx, e.keji.ID, r.email, "", c, r.status); err != nil {
			t.Fatalf("subscribe %s: %v", r.email, err)
		}
	}
	if _, err := st.Subscribe(e.ctx, e.other.ID, "outsider@example.org", "", subscribers.AllTopics, tidings.StatusConfirmed); err != nil {
		t.Fatal(err)
	}
	e.admin = tidings.Actor{Kind: tidings.ActorUser, Name: "root@example.org", Role: tidings.RoleAdmin, AllLists: true}
	e.editor = tidings.Actor{Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, Lists: []int64{e.keji.ID}}
	e.outer = tidings.Actor{Kind: tidings.ActorToken, Name: "other-bot", Role: tidings.RoleEditor, Lists: []int64{e.other.ID}}
	src, err := os.ReadFile(sampleBulletin)
	if err != nil {
		t.Fatal(err)
	}
	if e.issue, err = e.s.ImportIssue(e.ctx, e.admin, "keji", "keji-qingbao-2024-07.md", src, false); err != nil {
		t.Fatal(err)
	}
	return e
}

// engine is a delivery engine over the env's database relaying to sink,
// composing through ops.Campaigns as the CLI and the daemon do.
func (e *bulletinEnv) engine(t testing.TB, sink *smtpsink.Server) *mailer.Engine {
	t.Helper()
	r, err := mailer.ParseRelayURL("smtp://" + sink.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mailer.Config{Relays: []mailer.Relay{r}, Concurrency: 1, Poll: 10 * time.Millisecond,
		Backoff: time.Millisecond, LeaseTTL: 5 * time.Second, Now: func() time.Time { return e.clock }}
	return mailer.New(cfg, mailer.Deps{DB: e.d, Campaigns: Campaigns(e.d, e.s.deps.Links, func() time.Time { return e.clock }),
		Recipients: subscribers.NewStore(e.d)})
}

func bulletinSink(t testing.TB, o smtpsink.Options) *smtpsink.Server {
	t.Helper()
	s, err := smtpsink.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// one is a single value from the database.
func (e *bulletinEnv) one(t testing.TB, q string, args ...any) string {
	t.Helper()
	var v sql.NullString
	if err := e.d.R.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v.String
}

// actions are the audit log's actions, oldest first.
func (e *bulletinEnv) actions(t testing.TB) []string {
	t.Helper()
	rows, err := e.d.R.Query(`SELECT action FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		out = append(out, a)
	}
	return out
}

// field fails unless err is a FieldError on field.
func bulletinField(t testing.TB, err error, field string) {
	t.Helper()
	var fe *FieldError
	if !asFieldError(err, &fe) || fe.Field != field {
		t.Fatalf("err = %v, want a FieldError on %q", err, field)
	}
}
