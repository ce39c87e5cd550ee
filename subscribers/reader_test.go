package subscribers_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/subscribers"
)

func readerStore(t *testing.T) (*subscribers.Store, *tidings.List, *tidings.List) {
	t.Helper()
	s := subscribers.NewStore(dbtest.MustOpenDB(t))
	ctx := context.Background()
	a := &tidings.List{Slug: "a", Name: "A", From: "a@example.org"}
	b := &tidings.List{Slug: "b", Name: "B", From: "b@example.org"}
	for _, l := range []*tidings.List{a, b} {
		if err := s.CreateList(ctx, l); err != nil {
			t.Fatal(err)
		}
		for _, slug := range []string{"x", "y"} {
			if err := s.AddTopic(ctx, l.ID, &tidings.Topic{Slug: slug, Name: slug}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s, a, b
}

func TestRequestSubscription(t *testing.T) {
	s, a, _ := readerStore(t)
	ctx := context.Background()
	for _, st := range []tidings.Status{tidings.StatusPending, tidings.StatusConfirmed, tidings.StatusUnsubscribed, tidings.StatusBounced, tidings.StatusBlocked} {
		if _, err := s.Subscribe(ctx, a.ID, string(st)+"@example.net", "Old", subscribers.AllTopics, st); err != nil {
			t.Fatal(err)
		}
	}
	onlyY := subscribers.TopicChoice{Slugs: []string{"y"}}
	cases := []struct {
		email        string
		before       tidings.Status
		after        tidings.Status
		needsConfirm bool
		topicsY      bool // topics became [y]
		name         string
	}{
		{"new@example.net", "", tidings.StatusPending, true, true, "New"},
		{"pending@example.net", tidings.StatusPending, tidings.StatusPending, true, true, "New"},
		{"unsubscribed@example.net", tidings.StatusUnsubscribed, tidings.StatusPending, true, true, "New"},
		{"confirmed@example.net", tidings.StatusConfirmed, tidings.StatusConfirmed, false, false, "Old"},
		{"bounced@example.net", tidings.StatusBounced, tidings.StatusBounced, false, false, "Old"},
		{"blocked@example.net", tidings.StatusBlocked, tidings.StatusBlocked, false, false, "Old"},
	}
	for _, c := range cases {
		t.Run(c.email, func(t *testing.T) {
			out, err := s.RequestSubscription(ctx, a.ID, c.email, "New", onlyY)
			if err != nil {
				t.Fatal(err)
			}
			if out.Before != c.before || out.NeedsConfirm != c.needsConfirm {
				t.Errorf("outcome %+v, want before %q needsConfirm %v", out, c.before, c.needsConfirm)
			}
			ss, err := s.Subscription(ctx, a.ID, out.Subscriber.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ss.Status != c.after {
				t.Errorf("status %s, want %s", ss.Status, c.after)
			}
			gotY := !ss.AllTopics && len(ss.Topics) == 1 && ss.Topics[0] == "y"
			if gotY != c.topicsY {
				t.Errorf("topics %+v", ss)
			}
			if out.Subscriber.Name != c.name {
				t.Errorf("name %q, want %q", out.Subscriber.Name, c.name)
			}
		})
	}
	for _, bad := range []struct {
		email string
		tc    subscribers.TopicChoice
	}{
		{"not an address", subscribers.AllTopics},
		{"ok@example.net", subscribers.TopicChoice{Slugs: []string{"nope"}}},
	} {
		if _, err := s.RequestSubscription(ctx, a.ID, bad.email, "", bad.tc); !errors.Is(err, subscribers.ErrInvalid) {
			t.Errorf("%s %v: %v, want ErrInvalid", bad.email, bad.tc, err)
		}
	}
	if _, err := s.Get(ctx, "ok@example.net"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("a refused request left a subscriber: %v", err)
	}
	if _, err := s.RequestSubscription(ctx, 999, "x@example.net", "", subscribers.AllTopics); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("unknown list: %v", err)
	}
}

func TestConfirmSubscription(t *testing.T) {
	s, a, b := readerStore(t)
	ctx := context.Background()
	out, err := s.RequestSubscription(ctx, a.ID, "r@example.net", "", subscribers.AllTopics)
	if err != nil {
		t.Fatal(err)
	}
	id := out.Subscriber.ID
	if err := s.ConfirmSubscription(ctx, b.ID, id, []byte("n0")); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("other list: %v", err)
	}
	if err := s.ConfirmSubscription(ctx, a.ID, id, nil); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("no nonce: %v", err)
	}
	if err := s.ConfirmSubscription(ctx, a.ID, id, []byte("n1")); err != nil {
		t.Fatal(err)
	}
	if ss, _ := s.Subscription(ctx, a.ID, id); ss.Status != tidings.StatusConfirmed {
		t.Errorf("status %s", ss.Status)
	}
	if err := s.ConfirmSubscription(ctx, a.ID, id, []byte("n1")); !errors.Is(err, subscribers.ErrTokenUsed) {
		t.Errorf("reused nonce: %v", err)
	}
	// A second, older link of the same reader still works once.
	if err := s.ConfirmSubscription(ctx, a.ID, id, []byte("n2")); err != nil {
		t.Errorf("second link: %v", err)
	}
	blocked, err := s.Subscribe(ctx, a.ID, "blocked@example.net", "", subscribers.AllTopics, tidings.StatusBlocked)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmSubscription(ctx, a.ID, blocked.ID, []byte("n3")); !errors.Is(err, subscribers.ErrNotConfirmable) {
		t.Errorf("blocked: %v", err)
	}
}

func TestUnsubscribeAll(t *testing.T) {
	s, a, b := readerStore(t)
	ctx := context.Background()
	p, err := s.Subscribe(ctx, a.ID, "r@example.net", "", subscribers.AllTopics, tidings.StatusConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, b.ID, "r@example.net", "", subscribers.AllTopics, tidings.StatusBounced); err != nil {
		t.Fatal(err)
	}
	other, _ := s.Subscribe(ctx, a.ID, "o@example.net", "", subscribers.AllTopics, tidings.StatusConfirmed)
	n, err := s.UnsubscribeAll(ctx, p.ID)
	if err != nil || n != 1 {
		t.Fatalf("UnsubscribeAll: %d %v", n, err)
	}
	if ss, _ := s.Subscription(ctx, a.ID, p.ID); ss.Status != tidings.StatusUnsubscribed {
		t.Errorf("a: %s", ss.Status)
	}
	if ss, _ := s.Subscription(ctx, b.ID, p.ID); ss.Status != tidings.StatusBounced {
		t.Errorf("bounced changed to %s", ss.Status)
	}
	if ss, _ := s.Subscription(ctx, a.ID, other.ID); ss.Status != tidings.StatusConfirmed {
		t.Errorf("other reader: %s", ss.Status)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"  Ada  Lovelace ":          "Ada Lovelace",
		"Eve\r\nBcc: x@example.org": "Eve Bcc: x@example.org",
		"李\t雷":                      "李 雷",
		"\x00\x1b[31mred":           "[31mred",
		"":                          "",
	} {
		if got := subscribers.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPublicListAndTopics(t *testing.T) {
	s, a, _ := readerStore(t)
	ctx := context.Background()
	if _, err := s.Subscribe(ctx, a.ID, "r@example.net", "", subscribers.AllTopics, tidings.StatusConfirmed); err != nil {
		t.Fatal(err)
	}
	l, err := s.PublicList(ctx, "a")
	if err != nil || l.ID != a.ID || l.Name != "A" || l.Lang != tidings.LangEN || l.TZ != "UTC" {
		t.Fatalf("PublicList: %+v %v", l, err)
	}
	if _, err := s.PublicList(ctx, "nope"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("unknown list: %v", err)
	}
	ts, err := s.PublicTopics(ctx, a.ID)
	if err != nil || len(ts) != 2 || ts[0].Slug != "x" || ts[1].Slug != "y" || ts[0].ListID != a.ID {
		t.Fatalf("PublicTopics: %+v %v", ts, err)
	}
	if ts, err := s.PublicTopics(ctx, 999); err != nil || len(ts) != 0 {
		t.Errorf("topics of no list: %+v %v", ts, err)
	}
}

func TestOutcomeReply(t *testing.T) {
	for _, tc := range []struct {
		out  subscribers.Outcome
		want subscribers.Reply
	}{
		{subscribers.Outcome{NeedsConfirm: true}, subscribers.ReplyConfirm},
		{subscribers.Outcome{NeedsConfirm: true, Before: tidings.StatusUnsubscribed}, subscribers.ReplyConfirm},
		{subscribers.Outcome{Before: tidings.StatusConfirmed}, subscribers.ReplyManage},
		{subscribers.Outcome{Before: tidings.StatusBounced}, subscribers.ReplyNone},
		{subscribers.Outcome{Before: tidings.StatusBlocked}, subscribers.ReplyNone},
	} {
		if got := tc.out.Reply(); got != tc.want {
			t.Errorf("%+v: Reply() = %d, want %d", tc.out, got, tc.want)
		}
	}
}
