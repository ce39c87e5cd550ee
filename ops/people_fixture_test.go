package ops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/subscribers"
)

// peopleEnv is a Service over a fresh database with two lists — keji
// (topics ai, chips, space) and other (topic misc) — and the actors the
// list, topic and subscriber tests play: an admin of every list, an
// editor of keji, an editor of other, and an admin limited to other.
type peopleEnv struct {
	s           *Service
	d           *db.DB
	ctx         context.Context
	keji, other *tidings.List
	admin       tidings.Actor
	editor      tidings.Actor // of keji
	stranger    tidings.Actor // editor of other
	otherAdmin  tidings.Actor // admin of other only
	clock       time.Time
}

func newPeopleEnv(t testing.TB) *peopleEnv {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	e := &peopleEnv{d: d, ctx: context.Background(), clock: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)}
	now := func() time.Time { return e.clock }
	d.Now = now
	e.s = New(Deps{DB: d, Now: now})
	t.Cleanup(e.s.WaitJobs) // before the database closes (cleanups run last first)
	st := subscribers.NewStore(d)
	e.keji = &tidings.List{Slug: "keji", Name: "科技情报", From: "科技情报 <news@example.org>", Lang: "zh", TZ: "Asia/Shanghai"}
	e.other = &tidings.List{Slug: "other", Name: "Other", From: "Other <other@example.org>"}
	for _, l := range []*tidings.List{e.keji, e.other} {
		if err := st.CreateList(e.ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, tp := range []tidings.Topic{
		{Slug: "ai", Name: "人工智能", Keywords: []string{"AI", "大模型"}},
		{Slug: "chips", Name: "芯片", Keywords: []string{"芯片", "半导体"}},
		{Slug: "space", Name: "航天"},
	} {
		if err := st.AddTopic(e.ctx, e.keji.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddTopic(e.ctx, e.other.ID, &tidings.Topic{Slug: "misc", Name: "Misc"}); err != nil {
		t.Fatal(err)
	}
	e.admin = tidings.Actor{Kind: tidings.ActorUser, Name: "root@example.org", Role: tidings.RoleAdmin, AllLists: true}
	e.editor = tidings.Actor{Kind: tidings.ActorUser, Name: "ed@example.org", Role: tidings.RoleEditor, Lists: []int64{e.keji.ID}}
	e.stranger = tidings.Actor{Kind: tidings.ActorToken, Name: "other-bot", Role: tidings.RoleEditor, Lists: []int64{e.other.ID}}
	e.otherAdmin = tidings.Actor{Kind: tidings.ActorUser, Name: "oa@example.org", Role: tidings.RoleAdmin, Lists: []int64{e.other.ID}}
	return e
}

// sub puts a person on a list directly through the store.
func (e *peopleEnv) sub(t testing.TB, l *tidings.List, email string, topics subscribers.TopicChoice, st tidings.Status) *tidings.Subscriber {
	t.Helper()
	p, err := subscribers.NewStore(e.d).Subscribe(e.ctx, l.ID, email, "", topics, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// count is a single number from the database.
func (e *peopleEnv) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// audits are the actions of the audit log, oldest first.
func (e *peopleEnv) audits(t testing.TB) []auditRow {
	t.Helper()
	rows, err := e.d.R.Query("SELECT actor_kind, actor, action, object_kind, object_id, coalesce(list_id, 0), detail FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.kind, &r.actor, &r.action, &r.objKind, &r.objID, &r.list, &r.detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

type auditRow struct {
	kind, actor, action, objKind, objID string
	list                                int64
	detail                              string
}

// lastAudit is the newest audit entry, failing when there is none.
func (e *peopleEnv) lastAudit(t testing.TB) auditRow {
	t.Helper()
	a := e.audits(t)
	if len(a) == 0 {
		t.Fatal("no audit entry")
	}
	return a[len(a)-1]
}

// wantField checks that err is ErrInvalid with a FieldError naming field.
func wantField(t testing.TB, err error, field string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid naming %s", err, field)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v: no FieldError", err)
	}
	if fe.Field != field {
		t.Fatalf("field = %q (%v), want %q", fe.Field, err, field)
	}
}

// wantErr checks errors.Is(err, target).
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
