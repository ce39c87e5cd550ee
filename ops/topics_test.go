package ops

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

func TestTopicsAreReadByEveryoneOfTheList(t *testing.T) {
	e := newPeopleEnv(t)
	e.sub(t, e.keji, "a@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.keji, "b@example.org", subscribers.TopicChoice{Slugs: []string{"chips"}}, tidings.StatusConfirmed)
	ts, err := e.s.Topics(e.ctx, e.editor, "keji")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, tp := range ts {
		got[tp.Slug] = tp.Subscribers
	}
	if got["ai"] != 1 || got["chips"] != 2 || got["space"] != 1 || len(got) != 3 {
		t.Errorf("topic counts = %v", got)
	}
	_, err = e.s.Topics(e.ctx, e.stranger, "keji")
	wantErr(t, err, ErrForbidden)
}

func TestTopicChangesAreTheAdmins(t *testing.T) {
	e := newPeopleEnv(t)
	// Editors, and admins of another list, change no topic.
	for _, a := range []tidings.Actor{e.editor, e.otherAdmin} {
		wantErr(t, e.s.AddTopic(e.ctx, a, "keji", &tidings.Topic{Slug: "bio", Name: "Bio"}), ErrForbidden)
		_, err := e.s.UpdateTopic(e.ctx, a, "keji", "ai", func(tp *tidings.Topic) error { tp.Name = "x"; return nil })
		wantErr(t, err, ErrForbidden)
		wantErr(t, e.s.DeleteTopic(e.ctx, a, "keji", "ai"), ErrForbidden)
	}
	if n := e.count(t, "SELECT count(*) FROM topics WHERE list_id = ?", e.keji.ID); n != 3 {
		t.Fatalf("%d topics after refused changes, want 3", n)
	}

	tp := &tidings.Topic{Slug: "bio", Name: "生物", Keywords: []string{"基因", " CRISPR ", "基因"}}
	if err := e.s.AddTopic(e.ctx, e.admin, "keji", tp); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(t); a.action != "topic.add" || a.objID != "bio" || a.list != e.keji.ID {
		t.Errorf("audit = %+v", a)
	}
	wantErr(t, e.s.AddTopic(e.ctx, e.admin, "keji", &tidings.Topic{Slug: "bio", Name: "again"}), ErrConflict)

	got, err := e.s.UpdateTopic(e.ctx, e.admin, "keji", "bio", func(tp *tidings.Topic) error {
		tp.Slug, tp.Keywords = "biology", []string{"基因", "蛋白质"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Slug != "biology" || got.Name != "生物" || strings.Join(got.Keywords, ",") != "基因,蛋白质" {
		t.Errorf("topic = %+v", got)
	}
	if a := e.lastAudit(t); a.action != "topic.set" || !strings.Contains(a.detail, "蛋白质") || !strings.Contains(a.detail, `"slug":"biology"`) {
		t.Errorf("audit = %+v", a)
	}
	if err := e.s.DeleteTopic(e.ctx, e.admin, "keji", "biology"); err != nil {
		t.Fatal(err)
	}
	if a := e.lastAudit(t); a.action != "topic.rm" || a.objID != "biology" {
		t.Errorf("audit = %+v", a)
	}
	wantErr(t, e.s.DeleteTopic(e.ctx, e.admin, "keji", "biology"), ErrNotFound)
	_, err = e.s.UpdateTopic(e.ctx, e.admin, "keji", "nope", func(*tidings.Topic) error { return nil })
	wantErr(t, err, ErrNotFound)
}

func TestTopicBadInputNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		topic tidings.Topic
		field string
	}{
		{"bad slug", tidings.Topic{Slug: "AI!", Name: "x"}, "slug"},
		{"reserved slug", tidings.Topic{Slug: "all", Name: "x"}, "slug"},
		{"no name", tidings.Topic{Slug: "bio"}, "name"},
		{"control character in name", tidings.Topic{Slug: "bio", Name: "a\x07"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPeopleEnv(t)
			tp := tc.topic
			wantField(t, e.s.AddTopic(e.ctx, e.admin, "keji", &tp), tc.field)
			if n := e.count(t, "SELECT count(*) FROM topics WHERE list_id = ?", e.keji.ID); n != 3 {
				t.Errorf("a refused topic was stored")
			}
			_, err := e.s.UpdateTopic(e.ctx, e.admin, "keji", "ai", func(t *tidings.Topic) error {
				t.Slug, t.Name = tc.topic.Slug, tc.topic.Name
				if t.Slug == "bio" {
					t.Slug = "ai"
				}
				return nil
			})
			wantField(t, err, tc.field)
			if n := e.count(t, "SELECT count(*) FROM topics WHERE slug = 'ai' AND name = '人工智能'"); n != 1 {
				t.Errorf("a refused update was stored")
			}
			if n := e.count(t, "SELECT count(*) FROM audit_log"); n != 0 {
				t.Errorf("a refused change was audited")
			}
		})
	}
}

func TestKeywordPreviewMatchesAsTaggingDoes(t *testing.T) {
	e := newPeopleEnv(t)
	// Three issues; the preview looks at the last two.
	for _, is := range []struct {
		id, number int
		articles   []string // title|body
	}{
		{1, 1, []string{"老芯片|半导体旧闻"}},
		{2, 2, []string{"AI chips|new accelerators", "Weather|sunny, said nobody"}},
		{3, 3, []string{"大模型发布|参数规模", "Rocket|a launch", "Paint|the AIR is clean"}},
	} {
		if _, err := e.d.W.Exec("INSERT INTO issues (id, list_id, number, title, created_at) VALUES (?, ?, ?, 'x', 0)", is.id, e.keji.ID, is.number); err != nil {
			t.Fatal(err)
		}
		for i, a := range is.articles {
			title, body, _ := strings.Cut(a, "|")
			if _, err := e.d.W.Exec("INSERT INTO articles (issue_id, position, title, body) VALUES (?, ?, ?, ?)", is.id, i+1, title, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	hits, err := e.s.KeywordPreview(e.ctx, e.editor, "keji", []string{"AI", "大模型, 半导体", ""}, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, strings.Join([]string{strconv.Itoa(h.Number), strconv.Itoa(h.Position), h.Title, strings.Join(h.Matched, "+")}, "/"))
	}
	// "AI" matches words, not "AIR" or "said"; issue 1 is too old.
	want := "3/1/大模型发布/大模型 2/1/AI chips/AI"
	if strings.Join(got, " ") != want {
		t.Errorf("hits = %v, want %s", got, want)
	}
	_, err = e.s.KeywordPreview(e.ctx, e.editor, "keji", []string{" ", ","}, 2)
	wantField(t, err, "keywords")
	_, err = e.s.KeywordPreview(e.ctx, e.editor, "keji", []string{"AI"}, 1000)
	wantField(t, err, "last")
	_, err = e.s.KeywordPreview(e.ctx, e.stranger, "keji", []string{"AI"}, 2)
	wantErr(t, err, ErrForbidden)
}
