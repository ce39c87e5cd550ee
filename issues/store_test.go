package issues

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
)

// fixture is a database with one list and its topics, inserted directly so
// that these tests need no other package.
type fixture struct {
	d      *db.DB
	s      *Store
	listID int64
	topics []tidings.Topic
}

func newFixture(t *testing.T, topics ...tidings.Topic) *fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.MustOpenDB(t)
	d.Now = func() time.Time { return time.Date(2024, 7, 20, 8, 0, 0, 0, time.UTC) }
	res, err := d.W.ExecContext(ctx, "INSERT INTO lists (slug, name, from_addr, lang, created_at) VALUES ('keji', '科技情报参考', 'News <news@example.org>', 'zh', 0)")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{d: d, s: NewStore(d)}
	f.listID, _ = res.LastInsertId()
	for _, tp := range topics {
		f.addTopic(t, tp.Slug, tp.Keywords...)
	}
	return f
}

func (f *fixture) addTopic(t *testing.T, slug string, keywords ...string) {
	t.Helper()
	res, err := f.d.W.Exec("INSERT INTO topics (list_id, slug, name, keywords, created_at) VALUES (?, ?, ?, ?, 0)", f.listID, slug, slug, strings.Join(keywords, ","))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	f.topics = append(f.topics, tidings.Topic{ID: id, ListID: f.listID, Slug: slug, Name: slug, Keywords: keywords})
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := f.d.R.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func topic(slug string, kw ...string) tidings.Topic { return tidings.Topic{Slug: slug, Keywords: kw} }

func topicsOf(is *tidings.Issue) []string {
	var out []string
	for _, a := range is.Articles {
		out = append(out, strings.Join(a.Topics, ",")+"/"+string(a.TaggedBy))
	}
	return out
}

func TestImportSampleAndGet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, topic("ageing", "养老"), topic("biomed", "生物医药", "医疗器械"), topic("finance", "金融", "基金"), topic("ai", "AI", "人工智能"))
	src, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	is, err := f.s.Import(ctx, f.listID, "keji.md", src, f.topics)
	if err != nil {
		t.Fatal(err)
	}
	if is.ID == 0 || is.Status != tidings.IssueDraft || !is.CreatedAt.Equal(f.d.Now()) {
		t.Errorf("imported: id %d status %s created %v", is.ID, is.Status, is.CreatedAt)
	}
	got, err := f.s.Get(ctx, is.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "科技情报参考" || got.Number != 7 || got.Footer != is.Footer || got.Masthead != is.Masthead || got.Source != string(src) || got.ListID != f.listID {
		t.Errorf("stored issue differs: %q %d", got.Title, got.Number)
	}
	if len(got.Articles) != 5 {
		t.Fatalf("%d articles stored", len(got.Articles))
	}
	for i, a := range got.Articles {
		if a.Position != i+1 || a.Title != is.Articles[i].Title || a.Body != is.Articles[i].Body {
			t.Errorf("article %d stored differently", i+1)
		}
	}
	want := []string{
		"ageing,ai/keywords",      // 养老, 人工智能
		"biomed,finance/keywords", // 生物医药, 金融
		"finance/keywords",        // 金融
		"finance/keywords",        // 基金
		"finance/keywords",        // 金融
	}
	if g := topicsOf(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("topics by keyword: %v, want %v", g, want)
	}
	if strings.Join(topicsOf(got), " ") != strings.Join(topicsOf(is), " ") {
		t.Errorf("stored topics %v, imported %v", topicsOf(got), topicsOf(is))
	}

	byNum, err := f.s.ByNumber(ctx, f.listID, 7)
	if err != nil || byNum.ID != is.ID {
		t.Errorf("ByNumber = %v, %v", byNum, err)
	}
	if _, err := f.s.ByNumber(ctx, f.listID, 8); !errors.Is(err, ErrNotFound) {
		t.Errorf("ByNumber(8) = %v, want ErrNotFound", err)
	}
	if _, err := f.s.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(999) = %v, want ErrNotFound", err)
	}
	list, err := f.s.List(ctx, f.listID)
	if err != nil || len(list) != 1 || len(list[0].Articles) != 5 || list[0].Articles[0].Body != "" || list[0].Number != 7 {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestImportExplicitTopics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, topic("finance", "fund"), topic("biomed"), topic("energy"), topic("quantum", "quantum computing"))
	src, _ := os.ReadFile("testdata/explicit.md")
	is, err := f.s.Import(ctx, f.listID, "explicit.md", src, f.topics)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.s.Get(ctx, is.ID)
	// Attributes win over keywords ("fund" is in article 2 but finance
	// came from the attribute anyway; article 1 is not tagged quantum); slugs
	// come back in topic-id order, not attribute order.
	want := []string{"energy/attribute", "finance,biomed/attribute", "quantum/keywords"}
	if g := topicsOf(got); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("topics %v, want %v", g, want)
	}
	if got.Subject != "Tidings Weekly #42: batteries and biotech" || got.Date != "2025-03-07" {
		t.Errorf("subject, date = %q, %q", got.Subject, got.Date)
	}
}

func TestImportRefusesAndStoresNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, topic("energy"))
	good, err := os.ReadFile("testdata/explicit.md")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		list      int64
		want      string
		is        error
	}{
		{"unknown.md", "---\ntitle: T\nnumber: 1\n---\n\n## A {topics=energy}\n\nx\n\n## B {topics=energy,space}\n\ny\n", 0, `unknown.md:10: unknown topic "space" (known: energy)`, ErrParse},
		{"latin1.md", "# T\n\nNo. 1\n\n## \xe9\n", 0, "latin1.md:5: not UTF-8", ErrParse},
		{"empty.md", "", 0, "empty.md:1: empty file", ErrParse},
		{"nolist.md", "# T\n\nNo. 1\n\n## A\n\nx.\n", 99, "import nolist.md: list 99: not found", ErrNotFound},
		{"otherlist.md", string(good), 99, `import otherlist.md: topic "energy" belongs to another list`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := f.listID
			if tt.list != 0 {
				list = tt.list
			}
			topics := f.topics
			if tt.name == "nolist.md" {
				topics = nil
			}
			_, err := f.s.Import(ctx, list, tt.name, []byte(tt.src), topics)
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("error = %v, want %q (%v)", err, tt.want, tt.is)
			}
			for _, table := range []string{"issues", "articles", "article_topics"} {
				if n := f.count(t, table); n != 0 {
					t.Errorf("%d rows in %s after a refused import", n, table)
				}
			}
		})
	}
}

func TestImportDuplicateNumberAndReplace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	src, _ := os.ReadFile(sample)
	first, err := f.s.Import(ctx, f.listID, "keji.md", src, f.topics)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.s.Import(ctx, f.listID, "again.md", src, f.topics)
	want := "import again.md: issue 7 already exists in list keji (id 1)"
	if !errors.Is(err, ErrExists) || err == nil || err.Error() != want {
		t.Errorf("second import: %v, want %q", err, want)
	}
	if n := f.count(t, "articles"); n != 5 {
		t.Errorf("%d articles after a refused duplicate", n)
	}

	// Replace keeps the id and swaps the content of a draft.
	edited := strings.Replace(string(src), "滁州市链式推动企业科技成果转化", "滁州市链式推动企业科技成果转化（修订）", -1)
	re, err := f.s.ImportWithOptions(ctx, f.listID, "fixed.md", []byte(edited), f.topics, ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.s.Get(ctx, re.ID)
	if re.ID != first.ID || got.Articles[2].Title != "滁州市链式推动企业科技成果转化（修订）" || f.count(t, "articles") != 5 || !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("replace: id %d (was %d), title %q, %d articles", re.ID, first.ID, got.Articles[2].Title, f.count(t, "articles"))
	}

	// A sent issue is never replaced.
	if err := f.s.MarkSent(ctx, first.ID, f.d.Now()); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ImportWithOptions(ctx, f.listID, "late.md", src, f.topics, ImportOptions{Replace: true})
	if !errors.Is(err, ErrStatus) {
		t.Errorf("replacing a sent issue: %v, want ErrStatus", err)
	}
	got, _ = f.s.Get(ctx, first.ID)
	if got.Status != tidings.IssueSent || !got.SentAt.Equal(f.d.Now()) || got.Articles[2].Title != "滁州市链式推动企业科技成果转化（修订）" {
		t.Errorf("sent issue changed: %s %v %q", got.Status, got.SentAt, got.Articles[2].Title)
	}
}

func TestTagAndRetag(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, topic("energy", "battery"), topic("data", "open-data"), topic("books", "library"))
	src, _ := os.ReadFile("testdata/weekly-notes-3.md")
	is, err := f.s.Import(ctx, f.listID, "weekly.md", src, f.topics)
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(topicsOf(is), " "); g != "energy/keywords data/keywords books/keywords" {
		t.Fatalf("keyword topics: %s", g)
	}

	// By hand: wins from now on.
	if err := f.s.Tag(ctx, is.ID, 2, []string{"books", "energy"}); err != nil {
		t.Fatal(err)
	}
	// By hand, no topic: the article goes to every reader.
	if err := f.s.Tag(ctx, is.ID, 3, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := f.s.Get(ctx, is.ID)
	if g := strings.Join(topicsOf(got), " "); g != "energy/keywords energy,books/hand /hand" {
		t.Errorf("after tag: %s", g)
	}

	// Keywords change: "battery" moves from energy to a new topic.
	f.topics[0].Keywords = []string{"solar"}
	f.addTopic(t, "recycling", "recycling")
	n, err := f.s.Retag(ctx, is.ID, f.topics)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = f.s.Get(ctx, is.ID)
	if g := strings.Join(topicsOf(got), " "); n != 1 || g != "recycling/keywords energy,books/hand /hand" {
		t.Errorf("after retag (%d changed): %s", n, g)
	}
	if n, _ := f.s.Retag(ctx, is.ID, f.topics); n != 0 {
		t.Errorf("second retag changed %d", n)
	}

	for _, tt := range []struct {
		pos   int
		slugs []string
		is    error
		want  string
	}{
		{9, []string{"energy"}, ErrNotFound, "issue 1 has no article 9 (it has 3)"},
		{1, []string{"space"}, ErrUnknownTopic, `topic "space" (known: energy, data, books, recycling)`},
	} {
		err := f.s.Tag(ctx, is.ID, tt.pos, tt.slugs)
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Tag(%d, %v) = %v, want %q", tt.pos, tt.slugs, err, tt.want)
		}
	}
	if err := f.s.Tag(ctx, 77, 1, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tag on a missing issue: %v", err)
	}
	if err := f.s.SetStatus(ctx, is.ID, tidings.IssueSending); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Tag(ctx, is.ID, 1, []string{"data"}); !errors.Is(err, ErrStatus) {
		t.Errorf("Tag while sending: %v, want ErrStatus", err)
	}
	if _, err := f.s.Retag(ctx, is.ID, f.topics); !errors.Is(err, ErrStatus) {
		t.Errorf("Retag while sending: %v, want ErrStatus", err)
	}
}

func TestSetStatus(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	src, _ := os.ReadFile("testdata/weekly-notes-3.md")
	is, err := f.s.Import(ctx, f.listID, "w.md", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetStatus(ctx, is.ID, tidings.IssueReady, tidings.IssueDraft); err != nil {
		t.Fatal(err)
	}
	err = f.s.SetStatus(ctx, is.ID, tidings.IssueSending, tidings.IssueDraft, tidings.IssueScheduled)
	if !errors.Is(err, ErrStatus) || !strings.Contains(err.Error(), "issue 1 is ready, not draft or scheduled") {
		t.Errorf("conditional transition: %v", err)
	}
	if err := f.s.SetStatus(ctx, 42, tidings.IssueReady); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing issue: %v", err)
	}
	at := time.Date(2024, 7, 21, 9, 30, 0, 0, time.UTC)
	if err := f.s.MarkSent(ctx, is.ID, at); err != nil {
		t.Fatal(err)
	}
	got, _ := f.s.Get(ctx, is.ID)
	if got.Status != tidings.IssueSent || !got.SentAt.Equal(at) {
		t.Errorf("after MarkSent: %s %v", got.Status, got.SentAt)
	}
}

func TestMatchTopics(t *testing.T) {
	topics := []tidings.Topic{
		{ID: 3, Slug: "ai", Keywords: []string{"AI", "人工智能"}},
		{ID: 1, Slug: "ageing", Keywords: []string{"养老"}},
		{ID: 2, Slug: "grid", Keywords: []string{" Grid Storage ", ""}},
		{ID: 4, Slug: "none"},
	}
	tests := []struct {
		title, body string
		want        string
	}{
		{"养老科技", "", "ageing"},
		{"", "推动AI芯片落地", "ai"},                               // Latin keyword next to CJK is a word
		{"Chairman said", "", ""},                            // "ai" inside a word is not AI
		{"", "new GRID STORAGE rules; ai-driven", "grid,ai"}, // case-insensitive, hyphen is a boundary
		{"", "gridstorage", ""},
		{"", "人工智能与养老", "ageing,ai"}, // in topic-id order
		{"Nothing", "to see", ""},
	}
	for _, tt := range tests {
		got := strings.Join(MatchTopics(tidings.Article{Title: tt.title, Body: tt.body}, topics), ",")
		if got != tt.want {
			t.Errorf("MatchTopics(%q, %q) = %q, want %q", tt.title, tt.body, got, tt.want)
		}
	}
}

func BenchmarkImportSample(b *testing.B) {
	ctx := context.Background()
	d := dbtest.MustOpenDB(b)
	res, err := d.W.Exec("INSERT INTO lists (slug, name, from_addr, created_at) VALUES ('keji', 'k', 'k <k@example.org>', 0)")
	if err != nil {
		b.Fatal(err)
	}
	listID, _ := res.LastInsertId()
	topics := []tidings.Topic{{ID: 1, Slug: "ageing", Keywords: []string{"养老"}}}
	if _, err := d.W.Exec("INSERT INTO topics (id, list_id, slug, name, created_at) VALUES (1, ?, 'ageing', 'a', 0)", listID); err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile(sample)
	if err != nil {
		b.Fatal(err)
	}
	s := NewStore(d)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ImportWithOptions(ctx, listID, "keji.md", src, topics, ImportOptions{Replace: true}); err != nil {
			b.Fatal(err)
		}
	}
}
