package subscribers_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/subscribers"
)

var ctx = context.Background()

func newStore(t testing.TB) (*subscribers.Store, *db.DB) {
	t.Helper()
	d := dbtest.MustOpenDB(t)
	return subscribers.NewStore(d), d
}

// fixture makes list "keji" with topics ai, chips, space.
func fixture(t testing.TB, s *subscribers.Store) *tidings.List {
	t.Helper()
	l := &tidings.List{Slug: "keji", Name: "科技情报", From: "科技情报 <news@example.org>", Lang: "zh", TZ: "Asia/Shanghai"}
	if err := s.CreateList(ctx, l); err != nil {
		t.Fatal(err)
	}
	for _, tp := range []tidings.Topic{
		{Slug: "ai", Name: "人工智能", Keywords: []string{"AI", "大模型"}},
		{Slug: "chips", Name: "芯片", Keywords: []string{"芯片", "半导体"}},
		{Slug: "space", Name: "航天"},
	} {
		if err := s.AddTopic(ctx, l.ID, &tp); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestCreateListValidates(t *testing.T) {
	s, _ := newStore(t)
	good := func() tidings.List {
		return tidings.List{Slug: "news", Name: "News", From: "News <news@example.org>"}
	}
	tests := []struct {
		name    string
		edit    func(*tidings.List)
		wantErr string
	}{
		{"defaults", func(*tidings.List) {}, ""},
		{"bare from", func(l *tidings.List) { l.From = "news@example.org" }, ""},
		{"chinese from name", func(l *tidings.List) { l.From = "科技情报 <news@example.org>" }, ""},
		{"upper slug", func(l *tidings.List) { l.Slug = "News" }, "list slug \"News\""},
		{"slug with space", func(l *tidings.List) { l.Slug = "my news" }, "list slug"},
		{"leading dash", func(l *tidings.List) { l.Slug = "-x" }, "list slug"},
		{"empty name", func(l *tidings.List) { l.Name = " " }, "name is empty"},
		{"bad from", func(l *tidings.List) { l.From = "not an address" }, "from \"not an address\""},
		{"from without dot", func(l *tidings.List) { l.From = "a@localhost" }, "has no dot"},
		{"bad lang", func(l *tidings.List) { l.Lang = "fr" }, "language \"fr\""},
		{"bad tz", func(l *tidings.List) { l.TZ = "Mars/Olympus" }, "time zone \"Mars/Olympus\""},
		{"bad reply-to", func(l *tidings.List) { l.ReplyTo = "nope" }, "reply-to \"nope\""},
		{"name with line break", func(l *tidings.List) { l.Name = "News\r\nBcc: x@example.com" }, "line break"},
		// The console, the API and click tracking share the reader
		// listener's first path segment with the lists.
		{"reserved admin", func(l *tidings.List) { l.Slug = "admin" }, "list slug \"admin\" is taken by tidings' own pages"},
		{"reserved api", func(l *tidings.List) { l.Slug = "api" }, "list slug \"api\" is taken"},
		{"reserved click path", func(l *tidings.List) { l.Slug = "c" }, "list slug \"c\" is taken"},
		// Tracking and DKIM settings: the store refuses what the CLI and
		// the API would, whoever calls it.
		{"bad clicks mode", func(l *tidings.List) { l.Clicks = "everyone" }, ": clicks: "},
		{"bad opens mode", func(l *tidings.List) { l.Opens = "yes" }, ": opens: "},
		{"activity days negative", func(l *tidings.List) { l.ActivityDays = -1 }, "activity days -1: want 1 to 3650"},
		{"activity days too many", func(l *tidings.List) { l.ActivityDays = 3651 }, "activity days 3651"},
		{"dkim key without selector", func(l *tidings.List) { l.DKIMKey = "/etc/dkim.pem" }, "a DKIM key needs a selector"},
		{"dkim selector without key", func(l *tidings.List) { l.DKIMSelector = "s1" }, "a DKIM key needs a selector"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := good()
			l.Slug += string(rune('a' + i))
			tt.edit(&l)
			err := s.CreateList(ctx, &l)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.List(ctx, l.Slug)
				if err != nil {
					t.Fatal(err)
				}
				if got.Lang != tidings.LangEN || got.TZ != "UTC" || got.ID != l.ID {
					t.Errorf("stored %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, subscribers.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
	// A mode as typed is stored as parsed: the table's CHECK accepts only
	// the canonical spelling.
	typed := good()
	typed.Slug, typed.Opens = "typed-modes", " Individual"
	if err := s.CreateList(ctx, &typed); err != nil {
		t.Fatalf("opens %q: %v", " Individual", err)
	}
	got, err := s.List(ctx, "typed-modes")
	if err != nil {
		t.Fatal(err)
	}
	if got.Opens != tidings.TrackIndividual || got.Clicks != tidings.TrackAggregate {
		t.Errorf("stored opens %q clicks %q, want individual and aggregate", got.Opens, got.Clicks)
	}
	l := good()
	l.Slug = "newsa"
	if err := s.CreateList(ctx, &l); !errors.Is(err, subscribers.ErrExists) {
		t.Errorf("duplicate slug: %v, want ErrExists", err)
	}
}

func TestUpdateAndResolveList(t *testing.T) {
	s, _ := newStore(t)
	if _, err := s.ResolveList(ctx, ""); err == nil || !strings.Contains(err.Error(), "no list yet") {
		t.Errorf("no lists: %v", err)
	}
	l := fixture(t, s)
	got, err := s.ResolveList(ctx, "")
	if err != nil || got.ID != l.ID {
		t.Fatalf("one list: %+v, %v", got, err)
	}
	if err := s.UpdateList(ctx, "keji", func(l *tidings.List) error { l.ReplyTo = "editor@example.org"; l.Lang = "en"; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ = s.List(ctx, "keji")
	if got.ReplyTo != "editor@example.org" || got.Lang != tidings.LangEN || got.Name != "科技情报" {
		t.Errorf("after update: %+v", got)
	}
	if err := s.UpdateList(ctx, "keji", func(l *tidings.List) error { l.TZ = "nowhere"; return nil }); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("bad update: %v", err)
	}
	if err := s.UpdateList(ctx, "nope", func(*tidings.List) error { return nil }); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("missing list: %v", err)
	}
	if err := s.CreateList(ctx, &tidings.List{Slug: "b", Name: "B", From: "b@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveList(ctx, ""); err == nil || err.Error() != "several lists: use --list (b, keji)" {
		t.Errorf("two lists: %v", err)
	}
	if _, err := s.ResolveList(ctx, "zzz"); !errors.Is(err, subscribers.ErrNotFound) || !strings.Contains(err.Error(), `"zzz"`) {
		t.Errorf("unknown list: %v", err)
	}
}

func TestDeleteList(t *testing.T) {
	s, d := newStore(t)
	l := fixture(t, s)
	other := &tidings.List{Slug: "other", Name: "Other", From: "o@example.org"}
	if err := s.CreateList(ctx, other); err != nil {
		t.Fatal(err)
	}
	mustSub(t, s, l.ID, "only@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "both@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	mustSub(t, s, other.ID, "both@example.org", subscribers.AllTopics, tidings.StatusConfirmed)

	err := s.DeleteList(ctx, "keji", false)
	if !errors.Is(err, subscribers.ErrHasSubscribers) || !strings.Contains(err.Error(), "2 pending or confirmed") {
		t.Fatalf("unforced delete: %v", err)
	}
	if err := s.DeleteList(ctx, "keji", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.List(ctx, "keji"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("list still there: %v", err)
	}
	if _, err := s.Get(ctx, "only@example.org"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("person only on the deleted list kept: %v", err)
	}
	if p, err := s.Get(ctx, "both@example.org"); err != nil || len(p.Subscriptions) != 1 {
		t.Errorf("person on another list: %+v, %v", p, err)
	}
	var topics int
	d.R.QueryRow("SELECT count(*) FROM topics").Scan(&topics)
	if topics != 0 {
		t.Errorf("%d topics left", topics)
	}
	if err := s.DeleteList(ctx, "keji", true); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	// An empty list goes without --force.
	if err := s.CreateList(ctx, &tidings.List{Slug: "empty", Name: "E", From: "e@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteList(ctx, "empty", false); err != nil {
		t.Errorf("empty list: %v", err)
	}
}

func mustSub(t testing.TB, s *subscribers.Store, listID int64, email string, c subscribers.TopicChoice, st tidings.Status) *tidings.Subscriber {
	t.Helper()
	p, err := s.Subscribe(ctx, listID, email, "", c, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTopics(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	bad := []struct {
		topic   tidings.Topic
		wantErr error
		msg     string
	}{
		{tidings.Topic{Slug: "AI", Name: "x"}, subscribers.ErrInvalid, "topic slug \"AI\""},
		{tidings.Topic{Slug: "人工智能", Name: "x"}, subscribers.ErrInvalid, "topic slug"},
		{tidings.Topic{Slug: "all", Name: "x"}, subscribers.ErrInvalid, "reserved"},
		{tidings.Topic{Slug: "x", Name: ""}, subscribers.ErrInvalid, "name is empty"},
		{tidings.Topic{Slug: "x", Name: "a\nb"}, subscribers.ErrInvalid, "line break"},
		{tidings.Topic{Slug: "ai", Name: "dup"}, subscribers.ErrExists, "ai"},
	}
	for _, b := range bad {
		err := s.AddTopic(ctx, l.ID, &b.topic)
		if !errors.Is(err, b.wantErr) || !strings.Contains(err.Error(), b.msg) {
			t.Errorf("AddTopic(%+v) = %v, want %v containing %q", b.topic, err, b.wantErr, b.msg)
		}
	}
	mustSub(t, s, l.ID, "all@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "ai@example.org", subscribers.TopicChoice{Slugs: []string{"ai"}}, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "aichips@example.org", subscribers.TopicChoice{Slugs: []string{"ai", "chips"}}, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "pending@example.org", subscribers.AllTopics, tidings.StatusPending)
	mustSub(t, s, l.ID, "gone@example.org", subscribers.TopicChoice{Slugs: []string{"ai"}}, tidings.StatusUnsubscribed)

	topics, err := s.Topics(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, tp := range topics {
		got[tp.Slug] = tp.Subscribers
	}
	if want := map[string]int{"ai": 3, "chips": 2, "space": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("topic counts %v, want %v", got, want)
	}
	if topics[0].Name != "人工智能" || !reflect.DeepEqual(topics[0].Keywords, []string{"AI", "大模型"}) {
		t.Errorf("first topic %+v", topics[0])
	}

	if err := s.UpdateTopic(ctx, l.ID, "space", func(tp *tidings.Topic) error {
		tp.Keywords = []string{"火箭, 卫星", "火箭", " "}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tp, _ := s.Topic(ctx, l.ID, "space")
	if !reflect.DeepEqual(tp.Keywords, []string{"火箭", "卫星"}) {
		t.Errorf("keywords %q", tp.Keywords)
	}
	if err := s.DeleteTopic(ctx, l.ID, "ai"); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Get(ctx, "aichips@example.org")
	if !reflect.DeepEqual(p.Subscriptions[0].Topics, []string{"chips"}) {
		t.Errorf("after topic delete: %+v", p.Subscriptions[0])
	}
	if err := s.DeleteTopic(ctx, l.ID, "ai"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("delete missing topic: %v", err)
	}
}

func TestSubscribeAndChange(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	p, err := s.Subscribe(ctx, l.ID, "Li.Lei@Example.COM", "李雷", subscribers.TopicChoice{Slugs: []string{"chips", "ai"}}, tidings.StatusConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	if p.Email != "Li.Lei@example.com" || p.Name != "李雷" || len(p.Subscriptions) != 1 {
		t.Fatalf("subscriber %+v", p)
	}
	ss := p.Subscriptions[0]
	if ss.ListSlug != "keji" || ss.Status != tidings.StatusConfirmed || ss.AllTopics || !reflect.DeepEqual(ss.Topics, []string{"ai", "chips"}) {
		t.Errorf("subscription %+v", ss)
	}
	// Same person, other spelling.
	_, err = s.Subscribe(ctx, l.ID, "li.lei@example.com", "", subscribers.AllTopics, tidings.StatusConfirmed)
	if !errors.Is(err, subscribers.ErrExists) || !strings.Contains(err.Error(), "already on list keji (confirmed)") {
		t.Errorf("second subscribe: %v", err)
	}
	_, err = s.Subscribe(ctx, l.ID, "x@example.com", "", subscribers.TopicChoice{Slugs: []string{"ai", "sport"}}, tidings.StatusConfirmed)
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), `unknown topic "sport" (known: ai, chips, space)`) {
		t.Errorf("unknown topic: %v", err)
	}
	if _, err := s.Get(ctx, "x@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("failed subscribe left a person behind: %v", err)
	}
	if _, err := s.Subscribe(ctx, l.ID, "n@example.com", "X\nBcc: y@example.com", subscribers.AllTopics, tidings.StatusConfirmed); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("name with line break: %v", err)
	}
	if err := s.SetName(ctx, p.ID, strings.Repeat("名", 201)); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("long name: %v", err)
	}
	if _, err := s.Subscribe(ctx, l.ID, "not-an-email", "", subscribers.AllTopics, tidings.StatusConfirmed); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("bad email: %v", err)
	}
	if _, err := s.Subscribe(ctx, l.ID+99, "y@example.com", "", subscribers.AllTopics, tidings.StatusConfirmed); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("unknown list: %v", err)
	}

	if err := s.SetTopics(ctx, l.ID, p.ID, subscribers.AllTopics); err != nil {
		t.Fatal(err)
	}
	if err := s.SetName(ctx, p.ID, "Li Lei"); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, l.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Get(ctx, "LI.LEI@EXAMPLE.COM")
	ss = p.Subscriptions[0]
	if p.Name != "Li Lei" || !ss.AllTopics || len(ss.Topics) != 0 || ss.Status != tidings.StatusUnsubscribed {
		t.Errorf("after changes: %+v %+v", p, ss)
	}
	if err := s.SetStatus(ctx, l.ID, p.ID, "gone"); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	if err := s.SetTopics(ctx, l.ID, p.ID+1, subscribers.AllTopics); !errors.Is(err, subscribers.ErrNotFound) {
		t.Errorf("no subscription: %v", err)
	}
}

func TestParseTopicChoice(t *testing.T) {
	tests := []struct {
		in   string
		want subscribers.TopicChoice
		err  string
	}{
		{"all", subscribers.AllTopics, ""},
		{" ALL ", subscribers.AllTopics, ""},
		{"none", subscribers.TopicChoice{}, ""},
		{"chips,ai", subscribers.TopicChoice{Slugs: []string{"ai", "chips"}}, ""},
		{"ai;chips;ai", subscribers.TopicChoice{Slugs: []string{"ai", "chips"}}, ""},
		{"ai，chips", subscribers.TopicChoice{Slugs: []string{"ai", "chips"}}, ""},
		{"", subscribers.TopicChoice{}, "no topics given"},
		{"all,ai", subscribers.TopicChoice{}, "cannot be combined"},
		{"a b", subscribers.TopicChoice{}, "topic slug \"a b\""},
	}
	for _, tt := range tests {
		got, err := subscribers.ParseTopicChoice(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTopicChoice(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseTopicChoice(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestRecipientsAndEachSubscriber(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	other := &tidings.List{Slug: "other", Name: "Other", From: "o@example.org"}
	if err := s.CreateList(ctx, other); err != nil {
		t.Fatal(err)
	}
	mustSub(t, s, l.ID, "c@example.org", subscribers.TopicChoice{Slugs: []string{"space", "ai"}}, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "a@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	mustSub(t, s, l.ID, "p@example.org", subscribers.AllTopics, tidings.StatusPending)
	mustSub(t, s, l.ID, "n@example.org", subscribers.TopicChoice{}, tidings.StatusConfirmed)
	mustSub(t, s, other.ID, "o@example.org", subscribers.AllTopics, tidings.StatusConfirmed)

	var got []tidings.Recipient
	if err := s.Recipients(ctx, l.ID, func(r tidings.Recipient) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("recipients %+v", got)
	}
	if got[0].Email != "c@example.org" || got[0].AllTopics || !reflect.DeepEqual(got[0].Topics, []string{"ai", "space"}) {
		t.Errorf("first recipient %+v", got[0])
	}
	if got[1].Email != "a@example.org" || !got[1].AllTopics || got[1].Topics != nil {
		t.Errorf("second recipient %+v", got[1])
	}
	if got[2].Email != "n@example.org" || got[2].AllTopics || len(got[2].Topics) != 0 {
		t.Errorf("third recipient %+v", got[2])
	}
	for i := 1; i < len(got); i++ {
		if got[i].SubscriberID <= got[i-1].SubscriberID {
			t.Errorf("not in id order: %+v", got)
		}
	}
	stop := errors.New("stop")
	if err := s.Recipients(ctx, l.ID, func(tidings.Recipient) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}

	emails := func(f subscribers.Filter) []string {
		var out []string
		err := s.EachSubscriber(ctx, f, func(p tidings.Subscriber, ss tidings.Subscription) error {
			out = append(out, p.Email+":"+string(ss.Status))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if g := emails(subscribers.Filter{ListID: l.ID, Topic: "space"}); !reflect.DeepEqual(g, []string{"c@example.org:confirmed", "a@example.org:confirmed", "p@example.org:pending"}) {
		t.Errorf("topic filter: %v", g)
	}
	if g := emails(subscribers.Filter{ListID: l.ID, Status: tidings.StatusPending}); !reflect.DeepEqual(g, []string{"p@example.org:pending"}) {
		t.Errorf("status filter: %v", g)
	}
	if g := emails(subscribers.Filter{}); len(g) != 5 {
		t.Errorf("all lists: %v", g)
	}
	err := s.EachSubscriber(ctx, subscribers.Filter{ListID: l.ID, Topic: "sport"}, func(tidings.Subscriber, tidings.Subscription) error { return nil })
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), `"sport"`) {
		t.Errorf("unknown topic filter: %v", err)
	}
}
