package ops

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

func TestAddSubscriberRoles(t *testing.T) {
	e := newPeopleEnv(t)
	ai := subscribers.TopicChoice{Slugs: []string{"ai"}}
	p, err := e.s.AddSubscriber(e.ctx, e.editor, "keji", "Ann@Example.org", "安", ai)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Subscriptions) != 1 || p.Subscriptions[0].Status != tidings.StatusConfirmed {
		t.Fatalf("added = %+v: want confirmed on keji", p)
	}
	a := e.lastAudit(t)
	if a.action != "subscriber.add" || a.objKind != "subscriber" || a.objID != idStr(p.ID) || a.list != e.keji.ID ||
		strings.Contains(strings.ToLower(a.detail+a.objID), "ann@") {
		t.Errorf("audit = %+v: want the subscriber by id only", a)
	}
	_, err = e.s.AddSubscriber(e.ctx, e.editor, "keji", "ann@example.org", "", ai)
	wantErr(t, err, ErrConflict)
	_, err = e.s.AddSubscriber(e.ctx, e.stranger, "keji", "bo@example.org", "", ai)
	wantErr(t, err, ErrForbidden)
	if n := e.count(t, "SELECT count(*) FROM subscribers WHERE email_key = 'bo@example.org'"); n != 0 {
		t.Error("a refused subscriber was stored")
	}
}

func TestAddSubscriberBadInputNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, email, person string
		topics              subscribers.TopicChoice
		field               string
	}{
		{"no address", "", "", subscribers.AllTopics, "email"},
		{"not an address", "ann.example.org", "", subscribers.AllTopics, "email"},
		{"address word topic", "topic@", "", subscribers.AllTopics, "email"},
		{"line break in name", "ann@example.org", "Ann\r\nBcc: x@example.org", subscribers.AllTopics, "name"},
		{"long name", "ann@example.org", strings.Repeat("名", 201), subscribers.AllTopics, "name"},
		{"unknown topic", "ann@example.org", "", subscribers.TopicChoice{Slugs: []string{"ai", "misc"}}, "topics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPeopleEnv(t)
			_, err := e.s.AddSubscriber(e.ctx, e.admin, "keji", tc.email, tc.person, tc.topics)
			wantField(t, err, tc.field)
			if n := e.count(t, "SELECT count(*) FROM subscribers"); n != 0 {
				t.Errorf("a refused subscriber was stored")
			}
			if n := e.count(t, "SELECT count(*) FROM audit_log"); n != 0 {
				t.Errorf("a refused change was audited")
			}
		})
	}
}

func TestSetSubscriberTopicsAndStatus(t *testing.T) {
	e := newPeopleEnv(t)
	p := e.sub(t, e.keji, "ann@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.other, "bo@example.org", subscribers.AllTopics, tidings.StatusConfirmed)

	if err := e.s.SetSubscriberTopics(e.ctx, e.editor, "keji", "ANN@example.org", subscribers.TopicChoice{Slugs: []string{"chips", "space"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := subscribers.NewStore(e.d).Subscription(e.ctx, e.keji.ID, p.ID)
	if got.AllTopics || strings.Join(got.Topics, ",") != "chips,space" {
		t.Errorf("subscription = %+v", got)
	}
	if a := e.lastAudit(t); a.action != "subscriber.topics" || a.objID != idStr(p.ID) {
		t.Errorf("audit = %+v", a)
	}
	err := e.s.SetSubscriberTopics(e.ctx, e.editor, "keji", "ann@example.org", subscribers.TopicChoice{Slugs: []string{"misc"}})
	wantField(t, err, "topics")
	// Another list's editor: the list is not theirs; their own list does
	// not hold the person, which reads as not found.
	wantErr(t, e.s.SetSubscriberTopics(e.ctx, e.stranger, "keji", "ann@example.org", subscribers.AllTopics), ErrForbidden)
	wantErr(t, e.s.SetSubscriberTopics(e.ctx, e.stranger, "other", "ann@example.org", subscribers.AllTopics), ErrNotFound)
	wantErr(t, e.s.SetSubscriberTopics(e.ctx, e.editor, "keji", "bo@example.org", subscribers.AllTopics), ErrNotFound)

	// Editors unsubscribe, block and re-confirm; pending and bounced are
	// the opt-in's and the bounce rules' (or an admin's).
	for _, st := range []tidings.Status{tidings.StatusUnsubscribed, tidings.StatusBlocked, tidings.StatusConfirmed} {
		e.clock = e.clock.Add(time.Minute)
		if err := e.s.SetSubscriberStatus(e.ctx, e.editor, "keji", "ann@example.org", st); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		if a := e.lastAudit(t); a.action != "subscriber.status" || !strings.Contains(a.detail, `"status":"`+string(st)+`"`) {
			t.Errorf("audit = %+v", a)
		}
	}
	wantErr(t, e.s.SetSubscriberStatus(e.ctx, e.editor, "keji", "ann@example.org", tidings.StatusPending), ErrForbidden)
	if err := e.s.SetSubscriberStatus(e.ctx, e.admin, "keji", "ann@example.org", tidings.StatusBounced); err != nil {
		t.Fatal(err)
	}
	wantField(t, e.s.SetSubscriberStatus(e.ctx, e.admin, "keji", "ann@example.org", "gone"), "status")
	wantErr(t, e.s.SetSubscriberStatus(e.ctx, e.stranger, "keji", "ann@example.org", tidings.StatusBlocked), ErrForbidden)
	got, _ = subscribers.NewStore(e.d).Subscription(e.ctx, e.keji.ID, p.ID)
	if got.Status != tidings.StatusBounced {
		t.Errorf("status = %s, want bounced", got.Status)
	}
}

func TestSubscriberPageShowsOnlyTheActorsLists(t *testing.T) {
	e := newPeopleEnv(t)
	p := e.sub(t, e.keji, "ann@example.org", subscribers.AllTopics, tidings.StatusPending)
	e.sub(t, e.other, "ann@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.other, "bo@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	// History: confirmed (a status change by any path), topics, a
	// delivery of issue No. 7, a bounce.
	e.clock = e.clock.Add(time.Hour)
	if err := subscribers.NewStore(e.d).SetStatus(e.ctx, e.keji.ID, p.ID, tidings.StatusConfirmed); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(time.Hour)
	if err := e.s.SetSubscriberTopics(e.ctx, e.admin, "keji", "ann@example.org", subscribers.TopicChoice{Slugs: []string{"ai"}}); err != nil {
		t.Fatal(err)
	}
	at := e.clock.Add(time.Hour).Unix()
	for _, q := range []string{
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (70, ?1, 7, 'No. 7', 0)",
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (80, ?4, 3, 'Other No. 3', 0)",
		"INSERT INTO deliveries (issue_id, subscriber_id, state, smtp_reply, created_at, updated_at, sent_at) VALUES (70, ?2, 'sent', '250 ok', ?3, ?3, ?3)",
		"INSERT INTO deliveries (issue_id, subscriber_id, state, created_at, updated_at, sent_at) VALUES (80, ?2, 'sent', ?3, ?3, ?3)",
		"INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, at) VALUES (?2, ?1, 70, 'soft', '4.2.2', 'mailbox full', ?3 + 60)",
		"INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, at) VALUES (?2, ?4, 80, 'hard', '5.1.1', 'other list', ?3 + 60)",
	} {
		if _, err := e.d.W.Exec(q, e.keji.ID, p.ID, at, e.other.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	d, err := e.s.Subscriber(e.ctx, e.editor, "Ann@EXAMPLE.org")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Subscriber.Subscriptions) != 1 || d.Subscriber.Subscriptions[0].ListSlug != "keji" {
		t.Fatalf("subscriptions = %+v: want keji only", d.Subscriber.Subscriptions)
	}
	var lines []string
	for _, ev := range d.History {
		if ev.ListID != e.keji.ID {
			t.Errorf("event of another list: %+v", ev)
		}
		lines = append(lines, ev.Kind+":"+ev.Detail+":"+idStr(ev.Issue)+"/"+idStr(ev.IssueID))
	}
	// Issue is the number readers know (No. 7), IssueID the id pages link to (70).
	want := "bounce:soft 4.2.2 mailbox full:7/70 delivery:sent 250 ok:7/70 topics:ai:0/0 confirmed:pending:0/0 subscribed::0/0"
	if strings.Join(lines, " ") != want {
		t.Errorf("history =\n%s\nwant\n%s", strings.Join(lines, " "), want)
	}
	// The admin sees both lists.
	d, err = e.s.Subscriber(e.ctx, e.admin, "ann@example.org")
	if err != nil || len(d.Subscriber.Subscriptions) != 2 {
		t.Fatalf("admin: %v, %v", d, err)
	}
	// Someone on none of the editor's lists is not found, worded as for
	// someone unknown: nothing tells that they exist elsewhere.
	_, errOther := e.s.Subscriber(e.ctx, e.editor, "bo@example.org")
	_, errUnknown := e.s.Subscriber(e.ctx, e.editor, "nobody@example.org")
	wantErr(t, errOther, ErrNotFound)
	wantErr(t, errUnknown, ErrNotFound)
	if strings.Replace(errOther.Error(), "bo@", "x@", 1) != strings.Replace(errUnknown.Error(), "nobody@", "x@", 1) {
		t.Errorf("messages differ: %q vs %q", errOther, errUnknown)
	}
	_, err = e.s.Subscriber(e.ctx, e.editor, "not an address")
	wantField(t, err, "email")
}

func TestDeleteSubscriberErasesEveryTrace(t *testing.T) {
	e := newPeopleEnv(t)
	const addr = "Erase.Me-9c1d@example.org"
	p := e.sub(t, e.keji, addr, subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.other, addr, subscribers.AllTopics, tidings.StatusConfirmed)
	keep := e.sub(t, e.keji, "keep@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	if err := e.s.SetSubscriberStatus(e.ctx, e.admin, "keji", addr, tidings.StatusBlocked); err != nil {
		t.Fatal(err)
	}
	// An export job's file and an import job's report hold the address.
	job, err := e.s.StartExport(e.ctx, e.admin, "keji", "csv")
	if err != nil {
		t.Fatal(err)
	}
	e.s.WaitJobs()
	if _, err := e.s.StartImport(e.ctx, e.admin, "keji", []byte(addr+"\n"+strings.ToLower(addr)+"\n"), ImportRequest{DefaultTopics: subscribers.AllTopics, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	e.s.WaitJobs()

	// Editors never erase; an admin of one list cannot erase someone who
	// is on another list too.
	wantErr(t, e.s.DeleteSubscriber(e.ctx, e.editor, addr), ErrForbidden)
	wantErr(t, e.s.DeleteSubscriber(e.ctx, e.otherAdmin, addr), ErrForbidden)
	wantErr(t, e.s.DeleteSubscriber(e.ctx, e.otherAdmin, "keep@example.org"), ErrNotFound)

	if err := e.s.DeleteSubscriber(e.ctx, e.admin, strings.ToUpper(addr)); err != nil {
		t.Fatal(err)
	}
	a := e.lastAudit(t)
	if a.action != "subscriber.delete" || a.objID != idStr(p.ID) {
		t.Errorf("audit = %+v", a)
	}
	if n := e.count(t, "SELECT count(*) FROM subscription_events WHERE subscriber_id = ?", p.ID); n != 0 {
		t.Errorf("%d history rows left", n)
	}
	if _, err := e.s.Subscriber(e.ctx, e.admin, "keep@example.org"); err != nil {
		t.Errorf("the other reader: %v", err)
	}
	_ = keep
	j, err := e.s.Job(e.ctx, e.admin, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Error == "" {
		t.Errorf("export job after erasure: %+v, want it to say its file is gone", j)
	}
	_, err = e.s.JobOutput(e.ctx, e.admin, job.ID, &bytes.Buffer{})
	wantErr(t, err, ErrNotFound)
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(e.d.Path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), []byte(strings.ToLower(addr))) {
			t.Errorf("the address is still in %s", "tidings.db"+suffix)
		}
	}
	wantErr(t, e.s.DeleteSubscriber(e.ctx, e.admin, addr), ErrNotFound)

	// An admin of one list erases someone who is on that list only.
	e.sub(t, e.other, "only.other@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	if err := e.s.DeleteSubscriber(e.ctx, e.otherAdmin, "only.other@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "SELECT count(*) FROM subscribers WHERE email_key = 'only.other@example.org'"); n != 0 {
		t.Error("not erased")
	}
}

func idStr(i int64) string { return fmt.Sprint(i) }
