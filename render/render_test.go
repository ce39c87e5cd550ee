package render

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/token"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var fixedNow = time.Date(2024, 7, 15, 8, 30, 0, 0, time.UTC)

func testSigner() *token.Signer {
	s := token.New([]byte("0123456789abcdef0123456789abcdef"))
	s.Now = func() time.Time { return fixedNow }
	return s
}

func testRenderer() *Renderer {
	return &Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: testSigner(), Now: func() time.Time { return fixedNow }}
}

func zhList() *tidings.List {
	return &tidings.List{ID: 1, Slug: "keji", Name: "科技情报参考", From: "科技情报 <news@keji.example.org>", Lang: tidings.LangZH,
		TZ: "Asia/Shanghai", ReplyTo: "editor@keji.example.org", Address: "内蒙古呼和浩特市新华大街 1 号"}
}

func zhTopics() []tidings.Topic {
	return []tidings.Topic{
		{ID: 1, Slug: "eldercare", Name: "养老科技"},
		{ID: 2, Slug: "biomed", Name: "生物医药"},
		{ID: 3, Slug: "transfer", Name: "成果转化"},
		{ID: 4, Slug: "unicorn", Name: "独角兽"},
		{ID: 5, Slug: "platform", Name: "创新平台"},
		{ID: 6, Slug: "finance", Name: "科技金融"},
	}
}

// sampleTopics are the topics the tests give the sample's five articles.
var sampleTopics = [][]string{{"eldercare"}, {"biomed", "finance"}, {"transfer"}, {"unicorn"}, {"platform", "finance"}}

// sampleIssue is the sample bulletin as issues.Parse reads it, with the
// articles tagged as in sampleTopics.
func sampleIssue(t testing.TB) *tidings.Issue {
	t.Helper()
	src, err := os.ReadFile("../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		t.Fatal(err)
	}
	is, err := issues.Parse("keji-qingbao-2024-07.md", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(is.Articles) != len(sampleTopics) {
		t.Fatalf("sample: %d articles, want %d", len(is.Articles), len(sampleTopics))
	}
	is.ID, is.ListID = 42, 1
	for i := range is.Articles {
		is.Articles[i].Topics = sampleTopics[i]
	}
	return is
}

func prepare(t testing.TB, l *tidings.List, topics []tidings.Topic, is *tidings.Issue) *Edition {
	t.Helper()
	e, err := testRenderer().Prepare(l, topics, is)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func enList() *tidings.List {
	return &tidings.List{ID: 7, Slug: "weekly", Name: "Lab Weekly", From: "Lab Weekly <weekly@lab.example.com>", Lang: tidings.LangEN,
		TZ: "Europe/London", Address: "1 Example Road, Cambridge CB1 1AA, UK"}
}

func enTopics() []tidings.Topic {
	return []tidings.Topic{{ID: 11, Slug: "ai", Name: "AI"}, {ID: 12, Slug: "biology", Name: "Biology"}, {ID: 13, Slug: "policy", Name: "Science policy"}}
}

func enIssue() *tidings.Issue {
	return &tidings.Issue{ID: 9, ListID: 7, Number: 3, Title: "Lab Weekly", Date: "2024-07-12",
		Masthead: "Notes from the bench, every Friday.",
		Intro:    "Three papers this week, all\npublished in 2024.\nThe first one is about *tables*\nand models.",
		Footer:   "Edited by *Ada*. Write to us at <mailto:weekly@lab.example.com>.",
		Articles: []tidings.Article{
			{Position: 1, Title: "Small models, big tables", Topics: []string{"ai"}, Body: "We compared [three models](https://example.com/models?a=1&b=2) on tabular data.\n\n| model | score |\n| --- | --- |\n| tiny | 0.81 |\n| base | 0.86 |\n\nThe long tail of this sentence keeps going so that the plain-text alternative has to wrap it at seventy-eight columns, as mail readers expect."},
			{Position: 2, Title: "Protein folding on a laptop", Topics: []string{"biology", "ai"}, Body: "- fast\n- cheap\n- *surprisingly* good\n\n![diagram](https://example.com/fold.png)"},
			{Position: 3, Title: "A note on funding", Topics: []string{"policy"}, Body: "Grants open in **September**. <script>alert(1)</script> See https://example.org/grants."},
			{Position: 4, Title: "Housekeeping", Body: "This one has no topic, so everyone gets it."},
		}}
}

func TestSelection(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	tests := []struct {
		name string
		rc   tidings.Recipient
		key  string
		want []int // positions
	}{
		{"all topics", tidings.Recipient{AllTopics: true}, "all", []int{1, 2, 3, 4, 5}},
		{"one topic", tidings.Recipient{Topics: []string{"eldercare"}}, "eldercare", []int{1}},
		{"shared topic", tidings.Recipient{Topics: []string{"finance"}}, "finance", []int{2, 5}},
		{"two topics unsorted", tidings.Recipient{Topics: []string{"unicorn", "biomed", "unicorn"}}, "biomed,unicorn", []int{2, 4}},
		{"unknown topic", tidings.Recipient{Topics: []string{"space"}}, "space", nil},
		{"no topics", tidings.Recipient{}, "none", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.rc.SubscriberID, tc.rc.Email = 5, "reader@example.net"
			key, n := e.Combination(tc.rc)
			if key != tc.key || n != len(tc.want) {
				t.Fatalf("Combination = %q, %d; want %q, %d", key, n, tc.key, len(tc.want))
			}
			html, err := e.HTML(tc.rc)
			if len(tc.want) == 0 {
				if !errors.Is(err, ErrNoArticles) {
					t.Fatalf("HTML error = %v, want ErrNoArticles", err)
				}
				if _, err := e.WriteMessage(io.Discard, tc.rc, MessageOptions{}); !errors.Is(err, ErrNoArticles) {
					t.Fatalf("WriteMessage error = %v, want ErrNoArticles", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := articlesIn(string(html)); !slices.Equal(got, tc.want) {
				t.Errorf("articles in HTML = %v, want %v", got, tc.want)
			}
		})
	}
}

// An article without topics goes to everyone, whatever their topics.
func TestUntaggedArticleGoesToEveryone(t *testing.T) {
	e := prepare(t, enList(), enTopics(), enIssue())
	for _, rc := range []tidings.Recipient{{Topics: []string{"policy"}}, {Topics: []string{"nothing-known"}}, {}} {
		rc.SubscriberID, rc.Email = 1, "a@example.com"
		html, err := e.HTML(rc)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(articlesIn(string(html)), 4) {
			t.Errorf("topics %v: article 4 (no topic) missing: %v", rc.Topics, articlesIn(string(html)))
		}
	}
}

// Readers with different topic sets that select the same articles share
// one rendered body.
func TestSameArticlesShareBody(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	a := tidings.Recipient{SubscriberID: 1, Email: "a@example.net", Topics: []string{"biomed", "platform"}}
	b := tidings.Recipient{SubscriberID: 2, Email: "b@example.net", Topics: []string{"biomed", "platform", "finance"}}
	ka, _ := e.Combination(a)
	kb, _ := e.Combination(b)
	if ka == kb {
		t.Fatalf("keys should differ: %q", ka)
	}
	ba, err := e.lookup(&a)
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := e.lookup(&b)
	if ba != bb || len(e.bodies) != 1 {
		t.Fatalf("bodies not shared (%d cached)", len(e.bodies))
	}
	// their own topics still show in their footers
	ha, _ := e.HTML(a)
	hb, _ := e.HTML(b)
	if !strings.Contains(string(ha), "生物医药、创新平台。") || !strings.Contains(string(hb), "生物医药、科技金融、创新平台。") {
		t.Errorf("footers do not name each reader's topics")
	}
}

var anchorRe = regexp.MustCompile(`<td[^>]* id="a(\d+)"`)

// articlesIn lists the article anchors of an email HTML body.
func articlesIn(html string) []int {
	var out []int
	for _, m := range anchorRe.FindAllStringSubmatch(html, -1) {
		var n int
		fmt.Sscan(m[1], &n)
		out = append(out, n)
	}
	return out
}

func goldenCheck(t *testing.T, name string, got []byte) {
	t.Helper()
	got = bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n"))
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./render -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; review with -update and git diff", name)
	}
}

// The golden files are what a human reviews: the HTML and text of the
// sample issue for one subscriber (two topics), and of the English issue.
func TestGolden(t *testing.T) {
	zh := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	en := prepare(t, enList(), enTopics(), enIssue())
	cases := []struct {
		name string
		e    *Edition
		rc   tidings.Recipient
	}{
		{"keji-biomed-finance", zh, tidings.Recipient{SubscriberID: 1001, Email: "wang.fang@example.cn", Name: "王芳", Topics: []string{"biomed", "finance"}}},
		{"keji-all", zh, tidings.Recipient{SubscriberID: 1002, Email: "li@example.cn", AllTopics: true}},
		{"weekly-ai", en, tidings.Recipient{SubscriberID: 3, Email: "ada@example.com", Name: "Ada", Topics: []string{"ai"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := c.e.HTML(c.rc)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := c.e.Text(c.rc)
			if err != nil {
				t.Fatal(err)
			}
			goldenCheck(t, c.name+".html", h)
			goldenCheck(t, c.name+".txt", tx)
		})
	}
}

// Gmail clips HTML past about 102 KB: the all-topics sample stays well
// under it, base64-encoded.
func TestSize(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	raw, info := writeMessage(t, e, tidings.Recipient{SubscriberID: 1, Email: "a@example.cn", AllTopics: true}, MessageOptions{})
	p := parseMessage(t, raw)
	t.Logf("all topics: message %d bytes; HTML %d bytes (%d base64); text %d bytes", info.Size, len(p.html), p.htmlEncoded, len(p.text))
	if p.htmlEncoded > 90_000 {
		t.Errorf("encoded HTML part is %d bytes: too close to Gmail's 102 KB clip", p.htmlEncoded)
	}
}

func TestHTMLEmailRules(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	h, _ := e.HTML(tidings.Recipient{SubscriberID: 1, Email: "a@example.cn", AllTopics: true})
	s := string(h)
	for _, want := range []string{`<html lang="zh-CN" dir="ltr"`, `width="600"`, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Hiragino Sans GB",
		"display:none", "@media", "prefers-color-scheme", `href="#a1"`, "在浏览器中查看", "更改订阅主题", "退订", "内蒙古呼和浩特市"} {
		if !strings.Contains(s, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if n := strings.Count(s, "<style"); n != 1 {
		t.Errorf("%d style elements, want 1 (media queries only)", n)
	}
	style := s[strings.Index(s, "<style"):strings.Index(s, "</style>")]
	if strings.Contains(strings.ReplaceAll(style, "@media", ""), "{\n.") && !strings.Contains(style, "@media") {
		t.Errorf("style element keeps rules outside media queries")
	}
	for _, bad := range []string{"<script", "<link", "@import", "@font-face", "javascript:"} {
		if strings.Contains(s, bad) {
			t.Errorf("HTML has %q", bad)
		}
	}
	if !strings.Contains(s, `<p style="`) {
		t.Errorf("styles not inlined")
	}
}

func TestConcurrentWrites(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	combos := [][]string{{"eldercare"}, {"finance"}, {"biomed", "unicorn"}, {"platform"}, {"transfer", "finance"}}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				rc := tidings.Recipient{SubscriberID: int64(g*100 + i), Email: fmt.Sprintf("r%d@example.cn", g*100+i), Topics: combos[(g+i)%len(combos)]}
				var b bytes.Buffer
				if _, err := e.WriteMessage(&b, rc, MessageOptions{}); err != nil {
					errs <- err
					return
				}
				m, err := mail.ReadMessage(&b)
				if err != nil || m.Header.Get("To") != rc.Email {
					errs <- fmt.Errorf("message for %s: %v", rc.Email, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPrepareErrors(t *testing.T) {
	r := testRenderer()
	is := sampleIssue(t)
	if _, err := r.Prepare(zhList(), nil, &tidings.Issue{ID: 1, Title: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no articles: %v", err)
	}
	l := zhList()
	l.From = "no address"
	if _, err := r.Prepare(l, nil, is); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad from: %v", err)
	}
	if _, err := (&Renderer{}).Prepare(zhList(), nil, is); !errors.Is(err, ErrInvalid) {
		t.Errorf("no signer: %v", err)
	}
	is2 := sampleIssue(t)
	is2.Articles[0].Body += "\n\n" + sentinel(slotUnsub)
	if _, err := r.Prepare(zhList(), nil, is2); !errors.Is(err, ErrInvalid) {
		t.Errorf("sentinel in source: %v", err)
	}
}

// A list's template directory overrides files by name.
func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "email"), 0o755)
	os.WriteFile(filepath.Join(dir, "email", "newsletter.txt"), []byte("CUSTOM {{.Title}}\n{{range .Articles}}{{.Body}}{{end}}\n{{.UnsubURL}}\n"), 0o644)
	// a strings file may change one word and inherit the others
	os.WriteFile(filepath.Join(dir, "email", "strings.en.json"), []byte(`{"toc": "Contents"}`), 0o644)
	l := enList()
	l.TemplateDir = dir
	e := prepare(t, l, enTopics(), enIssue())
	rc := tidings.Recipient{SubscriberID: 1, Email: "a@example.com", AllTopics: true}
	tx, err := e.Text(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(tx), "CUSTOM Lab Weekly") {
		t.Errorf("override not used: %q", tx[:40])
	}
	if h, _ := e.HTML(rc); !strings.Contains(string(h), "<h2>Contents</h2>") && !strings.Contains(string(h), ">Contents</h2>") || !strings.Contains(string(h), "Unsubscribe") {
		t.Errorf("built-in HTML template with the overridden word not used")
	}
	// a template without the unsubscribe link is refused
	os.WriteFile(filepath.Join(dir, "email", "newsletter.txt"), []byte("{{.Title}}\n"), 0o644)
	e = prepare(t, l, enTopics(), enIssue())
	if _, err := e.Text(rc); !errors.Is(err, ErrInvalid) {
		t.Errorf("template without unsubscribe link: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "email", "strings.en.json"), []byte(`{"toc": `), 0o644)
	if _, err := testRenderer().Prepare(l, enTopics(), enIssue()); err == nil || !strings.Contains(err.Error(), "strings.en.json") {
		t.Errorf("broken strings file: %v", err)
	}
}

func TestWebIssue(t *testing.T) {
	h, err := testRenderer().WebIssue(zhList(), zhTopics(), sampleIssue(t))
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	if n := strings.Count(s, `<section class="issue-article"`); n != 5 {
		t.Errorf("%d articles", n)
	}
	if strings.Contains(s, sentinelPrefix) || strings.Contains(s, "unsubscribe") {
		t.Errorf("web issue has per-reader parts")
	}
}
