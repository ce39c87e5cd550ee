package issues

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

const sample = "../testdata/keji-qingbao-2024-07.md"

func mustParseFile(t *testing.T, path string) *tidings.Issue {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	is, err := Parse(filepath.Base(path), src)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return is
}

// paragraphs are the blank-line separated blocks of a Markdown body.
func paragraphs(body string) []string {
	var out []string
	for _, p := range strings.Split(body, "\n\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// assertNoOpenParagraph fails for a paragraph that ends without closing
// punctuation: a page-break split left unjoined. Headings, list items and
// bold lines (sub-headings) may end any way.
func assertNoOpenParagraph(t *testing.T, where, body string) {
	t.Helper()
	for _, p := range paragraphs(body) {
		if strings.HasPrefix(p, "#") || strings.HasPrefix(p, "- ") || strings.HasPrefix(p, "**") || pseudoHeadingRe.MatchString(p) {
			continue
		}
		s := strings.TrimRight(p, " *")
		r, _ := utf8.DecodeLastRuneInString(s)
		if !strings.ContainsRune("。！？…」”）.!?:：;；)", r) {
			t.Errorf("%s: paragraph ends without closing punctuation (page break not joined): …%s", where, tail(p, 30))
		}
	}
}

// pseudoHeadingRe is a short numbered line standing as a heading ("一、申报范围").
var pseudoHeadingRe = regexp.MustCompile(`^[一二三四五六七八九十]+、\S{1,20}$`)

func tail(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[len(r)-n:]
	}
	return string(r)
}

// letters keeps letters and digits only: the text's content, whatever the
// layout.
func letters(s string) string { return string(normalize(s)) }

func TestParseSampleBulletin(t *testing.T) {
	is := mustParseFile(t, sample)
	if is.Title != "科技情报参考" {
		t.Errorf("title = %q, want 科技情报参考", is.Title)
	}
	if is.Number != 7 {
		t.Errorf("number = %d, want 7", is.Number)
	}
	if !strings.Contains(is.Masthead, "2024年第7期") || !strings.Contains(is.Masthead, "呼和浩特市科学技术局综合保障中心 编辑") {
		t.Errorf("masthead = %q, want the edition and publisher lines", is.Masthead)
	}
	wantTitles := []string{
		"推动“科技”与“养老”深度融合！《上海市推进养老科技创新发展行动方案（2024-2027年）》正式发布",
		"南京市以科技创新驱动提升生物医药产业能级",
		"滁州市链式推动企业科技成果转化",
		"扬州聚力打造长三角产业科创高地",
		"宁波：探索创新“研发加速器”增值服务 助力新质生产力发展", // longer than its TOC entry
	}
	if len(is.Articles) != len(wantTitles) {
		for _, a := range is.Articles {
			t.Logf("article %d: %s", a.Position, a.Title)
		}
		t.Fatalf("%d articles, want exactly %d", len(is.Articles), len(wantTitles))
	}
	for i, a := range is.Articles {
		if a.Title != wantTitles[i] {
			t.Errorf("article %d title = %q, want %q", i+1, a.Title, wantTitles[i])
		}
		if a.Position != i+1 {
			t.Errorf("article %d position = %d", i+1, a.Position)
		}
		if a.TaggedBy != tidings.TaggedByKeywords || len(a.Topics) != 0 {
			t.Errorf("article %d: topics %v by %s, want none yet, by keywords", i+1, a.Topics, a.TaggedBy)
		}
		if strings.Contains(a.Body, "★") || strings.Contains(a.Body, "……") {
			t.Errorf("article %d body holds table-of-contents lines", i+1)
		}
		assertNoOpenParagraph(t, a.Title, a.Body)
	}

	// Sub-sections stay inside their own article, as sub-headings.
	subs := map[int][]string{
		4: {"### “独角兽”蓄势待发，创新主体竞相奔跑。", "### 科技招商精准发力，创新资源加快集聚。", "### 耐心涵养科创生态，创新活力浪潮奔涌。"},
		5: {"### 体检诊断，检出新质生产力的“金种子”", "### 孵化培育，育优新质生产力的“好苗子”", "### 滴灌壮大，催生新质生产力的“新尖子”"},
	}
	for pos, hs := range subs {
		for _, h := range hs {
			if !strings.Contains(is.Articles[pos-1].Body, h+"\n") {
				t.Errorf("article %d lacks sub-heading %q", pos, h)
			}
		}
	}
	for i := 0; i < 3; i++ {
		if strings.Contains(is.Articles[i].Body, "#") {
			t.Errorf("article %d has a heading in its body: %q", i+1, is.Articles[i].Body)
		}
	}

	// Page-break splits joined back, CJK without a space.
	joined := map[int][]string{
		1: {"康复机器人、外骨骼机器人", "创建一个特色鲜明"},
		2: {"总额为18.1 亿人民币"},
		4: {"加快国家级高水平", "公司副总经理沈斌", "全链条孵化育成体系", "“拨投结合”机制"},
		5: {"增值服务体系，为新质", "今年 1-5月工业企业", "3000 万元专项资金"},
	}
	for pos, ws := range joined {
		for _, w := range ws {
			if !strings.Contains(is.Articles[pos-1].Body, w) {
				t.Errorf("article %d lacks joined text %q", pos, w)
			}
		}
	}

	// The colophon is the footer, not the end of the last article.
	for _, w := range []string{"呼和浩特市科学技术局综合保障中心编辑", "编辑：李 涛", "电话：4366683"} {
		if !strings.Contains(is.Footer, w) {
			t.Errorf("footer %q lacks %q", is.Footer, w)
		}
	}
	last := is.Articles[len(is.Articles)-1].Body
	if strings.Contains(last, "编辑") || strings.Contains(last, "电话") {
		t.Errorf("last article holds the colophon: …%s", tail(last, 60))
	}
	if !strings.HasSuffix(last, "服务企业完成各类认定、申报200多次。") {
		t.Errorf("last article ends …%s", tail(last, 40))
	}

	// Nothing lost, nothing doubled: the issue holds every letter of the
	// file except the table of contents, in order.
	src, _ := os.ReadFile(sample)
	var kept []string
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.Contains(l, "★") {
			kept = append(kept, l)
		}
	}
	got := []string{"# " + is.Title, is.Masthead, is.Intro}
	for _, a := range is.Articles {
		got = append(got, a.Title, a.Body)
	}
	got = append(got, is.Footer)
	if letters(strings.Join(kept, "\n")) != letters(strings.Join(got, "\n")) {
		t.Errorf("issue text differs from the file's text")
	}
	if is.Source != string(src) {
		t.Errorf("source not kept verbatim")
	}
}

// Other bulletins converted the same way: different markers, leaders,
// heading levels, languages and colophons.
func TestParseOtherBulletins(t *testing.T) {
	tests := []struct {
		file             string
		title            string
		number           int
		date             string
		articles         []string
		bodyHas          map[int][]string // position → substrings
		bodyLacks        map[int][]string
		masthead, footer []string
		intro            string
	}{
		{
			file: "dongtai-2025-03.md", title: "科技动态", number: 45, date: "2025-03-15",
			articles: []string{"人工智能赋能制造业转型升级的实践与思考", "新能源汽车产业链协同创新", "长三角科技创新共同体建设取得新进展"},
			bodyHas: map[int][]string{
				1: {"**一、主要做法**\n\n一是强化政策引导", "推动 AI芯片、工业大模型", "共性难题，形成"},
				2: {"#### 链主企业带动", "提供了有力支撑。"},
				3: {"（来源：科技日报）"},
			},
			bodyLacks: map[int][]string{3: {"主办", "邮箱", "---"}},
			masthead:  []string{"2025年第3期（总第45期）", "某市科技情报研究所 主办"},
			footer:    []string{"主办：某市科技情报研究所", "地址：某市科技路 1 号", "邮箱：kjdt@example.cn"},
		},
		{
			file: "policy-brief-12.md", title: "The Policy Brief", number: 12, date: "2025-03",
			articles: []string{"Grid storage gets a boost from the regional planning rules", "Heat pumps: what the new subsidy changes for households", "Ports prepare for green hydrogen imports"},
			bodyHas: map[int][]string{
				1: {"### What changes for operators", "the rules will require operators", "long-duration storage", "### What it means for investors"},
				3: {"industrial clusters along the river."},
			},
			bodyLacks: map[int][]string{3: {"Editor", "©", "Contact"}},
			masthead:  []string{"Issue 12 · March 2025", "Published by the Northfield Institute"},
			footer:    []string{"Editor: Jane Roe", "Contact: brief@northfield.example", "© 2025 Northfield Institute"},
		},
		{
			// A "##" title, a Chinese-numeral edition, a "目　录" label, an
			// entry the PDF wrapped over two lines, bold lines as article
			// headings, a page number between the halves of a split, and
			// a colophon with a bracketed editor line and 报送/抄送 lines.
			file: "jianbao-11.md", title: "科技工作简报", number: 11, date: "2023-11-20",
			articles: []string{"全省科技成果转化工作推进会召开", "我省3项成果获国家科学技术奖，创历史最好成绩，其中一项获一等奖", "关于开展2024年度科技计划项目申报工作的通知"},
			bodyHas: map[int][]string{
				1: {"现实生产力转化的“最后一公里”，让更多成果"},
				2: {"获奖数量和等级均创历史新高。"},
				3: {"各有关单位：\n\n现将", "一、申报范围\n\n重点支持"},
			},
			bodyLacks: map[int][]string{1: {"- 2 -"}, 2: {"（第十一期）"}, 3: {"王 芳", "报送", "抄送"}},
			masthead:  []string{"第十一期", "某省科学技术厅办公室"},
			footer:    []string{"（本期编辑：王 芳）", "报送：省委、省政府领导，科技部办公厅", "抄送：各市科技局，厅机关各处室"},
		},
		{
			// No table of contents, no attributes: the most frequent
			// heading level (## three times, ### twice) marks articles.
			file: "weekly-notes-3.md", title: "Weekly Notes", number: 3, date: "2025-03-07",
			articles: []string{"Battery recycling plant opens", "City adopts open-data policy", "Library extends opening hours"},
			bodyHas:  map[int][]string{1: {"### Capacity"}, 2: {"### Exceptions"}},
			masthead: []string{"No. 3, 2025-03-07"},
			intro:    "A short round-up of what crossed our desks this week.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			is := mustParseFile(t, filepath.Join("testdata", tt.file))
			if is.Title != tt.title || is.Number != tt.number || is.Date != tt.date {
				t.Errorf("title, number, date = %q, %d, %q; want %q, %d, %q", is.Title, is.Number, is.Date, tt.title, tt.number, tt.date)
			}
			var titles []string
			for _, a := range is.Articles {
				titles = append(titles, a.Title)
				assertNoOpenParagraph(t, a.Title, a.Body)
			}
			if strings.Join(titles, "\n") != strings.Join(tt.articles, "\n") {
				t.Fatalf("articles:\n%s\nwant:\n%s", strings.Join(titles, "\n"), strings.Join(tt.articles, "\n"))
			}
			for pos, ws := range tt.bodyHas {
				for _, w := range ws {
					if !strings.Contains(is.Articles[pos-1].Body, w) {
						t.Errorf("article %d lacks %q in:\n%s", pos, w, is.Articles[pos-1].Body)
					}
				}
			}
			for pos, ws := range tt.bodyLacks {
				for _, w := range ws {
					if strings.Contains(is.Articles[pos-1].Body, w) {
						t.Errorf("article %d holds %q", pos, w)
					}
				}
			}
			for _, w := range tt.masthead {
				if !strings.Contains(is.Masthead, w) {
					t.Errorf("masthead %q lacks %q", is.Masthead, w)
				}
			}
			for _, w := range tt.footer {
				if !strings.Contains(is.Footer, w) {
					t.Errorf("footer %q lacks %q", is.Footer, w)
				}
			}
			if len(tt.footer) == 0 && is.Footer != "" {
				t.Errorf("footer = %q, want none", is.Footer)
			}
			if is.Intro != tt.intro {
				t.Errorf("intro = %q, want %q", is.Intro, tt.intro)
			}
		})
	}
}

func TestParseExplicit(t *testing.T) {
	is := mustParseFile(t, "testdata/explicit.md")
	if is.Title != "Tidings Weekly" || is.Number != 42 || is.Date != "2025-03-07" {
		t.Errorf("title, number, date = %q, %d, %q", is.Title, is.Number, is.Date)
	}
	if is.Subject != "Tidings Weekly #42: batteries and biotech" || is.Preheader != "Recycling plants, a biotech fund and more" {
		t.Errorf("subject, preheader = %q, %q", is.Subject, is.Preheader)
	}
	if is.Intro != "Welcome to this week's issue." || is.Footer != "Edited by the tidings team." {
		t.Errorf("intro, footer = %q, %q", is.Intro, is.Footer)
	}
	want := []struct {
		title  string
		topics []string
		by     tidings.TaggedBy
	}{
		{"Battery recycling plant opens", []string{"energy"}, tidings.TaggedByAttribute},
		{"A new fund for biotech start-ups", []string{"biomed", "finance"}, tidings.TaggedByAttribute},
		{"Notes from the editor", nil, tidings.TaggedByKeywords},
	}
	if len(is.Articles) != len(want) {
		t.Fatalf("%d articles, want %d", len(is.Articles), len(want))
	}
	for i, w := range want {
		a := is.Articles[i]
		if a.Title != w.title || strings.Join(a.Topics, ",") != strings.Join(w.topics, ",") || a.TaggedBy != w.by {
			t.Errorf("article %d = %q %v %s, want %q %v %s", i+1, a.Title, a.Topics, a.TaggedBy, w.title, w.topics, w.by)
		}
	}
	if !strings.Contains(is.Articles[0].Body, "### Capacity\n\nIt starts at half capacity.") {
		t.Errorf("deeper heading not kept inside its article: %q", is.Articles[0].Body)
	}
}

// Explicit files are taken as written: nothing is joined or moved.
func TestParseExplicitTakesTextAsWritten(t *testing.T) {
	src := "---\ntitle: T\nnumber: 1\n---\n\n## A {topics=}\n\nline without stop\n\nnext paragraph\n\nEditor: someone\n"
	is, err := Parse("x.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	a := is.Articles[0]
	if a.Body != "line without stop\n\nnext paragraph\n\nEditor: someone" || is.Footer != "" {
		t.Errorf("body, footer = %q, %q", a.Body, is.Footer)
	}
	if a.TaggedBy != tidings.TaggedByAttribute || len(a.Topics) != 0 {
		t.Errorf("{topics=} gives %v by %s, want no topic by attribute", a.Topics, a.TaggedBy)
	}
}

func TestParseBadInput(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"latin1.md", "# Title\n\nNo. 1\n\nbad \xe9t\xe9 here\n", "latin1.md:5: not UTF-8"},
		{"empty.md", "", "empty.md:1: empty file"},
		{"blank.md", " \n\n\t\n", "blank.md:1: empty file"},
		{"nul.md", "# T\x00\n", "nul.md:1: binary data"},
		{"notitle.md", "Some text.\n\n## An article\n\nBody.\n\n## Another\n\nMore.\n", "notitle.md:1: no title"},
		{"onlyheading.md", "Some text.\n\n## Only a title\n\nBody.\n", "onlyheading.md:3: no articles found"},
		{"noarticles.md", "# Title\n\n第1期\n\nJust a paragraph.\n", "noarticles.md:1: no articles found"},
		{"nonumber.md", "# Title\n\n## A\n\nx.\n", "nonumber.md:1: no issue number"},
		{"fm-noarticles.md", "---\ntitle: T\nnumber: 1\n---\n\nIntro only.\n", "fm-noarticles.md:5: no articles found"},
		{"fm-yaml.md", "---\ntitle: T\nnumber: [1\n---\n## A\n", "fm-yaml.md:"},
		{"fm-type.md", "---\ntitle: T\nnumber: seven\n---\n## A\n", "fm-type.md:3: front matter: cannot unmarshal"},
		{"fm-unknown.md", "---\ntitle: T\nnumber: 1\ntitel: typo\n---\n## A\n", `fm-unknown.md:4: front matter: unknown key "titel" (known: title, number`},
		{"fm-open.md", "---\ntitle: T\nnumber: 1\n\n## A\n", "fm-open.md:1: front matter is not closed"},
		{"fm-notitle.md", "---\nnumber: 1\n---\n## A\n", "fm-notitle.md:1: front matter: title is missing"},
		{"fm-nonumber.md", "---\ntitle: T\n---\n## A\n", "fm-nonumber.md:1: front matter: number is missing"},
		{"attr.md", "---\ntitle: T\nnumber: 1\n---\n\n## A {colour=red}\n", "attr.md:6: unknown heading attribute \"colour=red\""},
		{"toc.md", "# T\n\n第2期\n\n- ★ First article……1\n- ★ Something else entirely……2\n\n## First article\n\nx.\n", "toc.md:6: table of contents entry \"Something else entirely\" matches no heading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := Parse(tt.name, []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; got %d articles", len(is.Articles))
			}
			if !errors.Is(err, ErrParse) {
				t.Errorf("error %v does not wrap ErrParse", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has more than one line: %q", err)
			}
		})
	}
}

func TestSimilarity(t *testing.T) {
	tests := []struct {
		a, b string
		min  float64
		max  float64
	}{
		{"南京市以科技创新驱动提升生物医药产业能级", "南京市以科技创新驱动提升生物医药产业能级", 1, 1},
		{"宁波：探索创新“研发加速器”助力新质生产力发展", "**宁波：探索创新“研发加速器”增值服务 助力新质生产力发展**", 0.75, 1},
		{"Grid storage gets a boost", "Grid storage gets a boost from the regional planning rules", 0.8, 1},
		{"宁波：探索创新“研发加速器”助力新质生产力发展", "体检诊断，检出新质生产力的“金种子”", 0, 0.4},
		{"扬州聚力打造长三角产业科创高地", "科技招商精准发力，创新资源加快集聚。", 0, 0.3},
		{"", "x", 0, 0},
	}
	for _, tt := range tests {
		if s := similarity(tt.a, tt.b); s < tt.min || s > tt.max {
			t.Errorf("similarity(%q, %q) = %.2f, want in [%.2f, %.2f]", tt.a, tt.b, s, tt.min, tt.max)
		}
	}
}

func TestJoinText(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"康复机器人、外", "骨骼机器人", "康复机器人、外骨骼机器人"},
		{"总额为", "18.1 亿人民币", "总额为18.1 亿人民币"},
		{"推动 AI", "芯片", "推动 AI芯片"},
		{"the rules will", "require operators", "the rules will require operators"},
		{"long-", "duration", "long-duration"},
	}
	for _, tt := range tests {
		if got := joinText(tt.a, tt.b); got != tt.want {
			t.Errorf("joinText(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestFindNumber(t *testing.T) {
	tests := []struct {
		line string
		want int
	}{
		{"2024年第7期", 7},
		{"第7期", 7},
		{"第十二期", 12},
		{"2025年第3期（总第45期）", 45},
		{"No. 7", 7},
		{"Issue 7", 7},
		{"Issue #8 · May", 8},
		{"Vol. 3, No. 11", 11},
		{"２０２４年第７期", 7},
		{"2024年7月", 0},
	}
	for _, tt := range tests {
		if got := findNumber([]string{tt.line}); got != tt.want {
			t.Errorf("findNumber(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []string{sample, "testdata/dongtai-2025-03.md", "testdata/policy-brief-12.md", "testdata/weekly-notes-3.md", "testdata/jianbao-11.md", "testdata/explicit.md"} {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("---\ntitle: T\nnumber: [1\ndate: {a: b\n---\n## A\n"))
	f.Add([]byte("---\ntitle: [a, b]\nnumber: x\npreheader: {}\n---\n## A {topics=a b}\n"))
	f.Add([]byte("# T\n\n第1期\n\n## A {topics=a,\"b\"}\n\n```\n## not\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		is, err := Parse("fuzz.md", src)
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("error %v does not wrap ErrParse", err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") || !strings.HasPrefix(err.Error(), "fuzz.md:") {
				t.Fatalf("error is not one line naming the file: %q", err)
			}
			return
		}
		if len(is.Articles) == 0 || is.Number <= 0 {
			t.Fatalf("parsed without articles or number: %+v", is)
		}
		for i, a := range is.Articles {
			if a.Position != i+1 || a.Title == "" {
				t.Fatalf("article %d: position %d, title %q", i, a.Position, a.Title)
			}
		}
	})
}

func TestParseBulletinVariants(t *testing.T) {
	tests := []struct {
		name, src string
		articles  []string
		topics    []string // per article, "a,b/by"
		intro     string
		body1     string
		lastBody  string
	}{
		{
			name: "contents heading with sections",
			src: "# Digest\n\nIssue 4\n\n## Contents\n\n- Energy\n  - ● Solar farms expand .... 2\n- Health\n  - ● Hospital opens new wing .... 3\n\n" +
				"## Energy\n\n### Solar farms expand across the region\n\nThree farms.\n\n## Health\n\n### Hospital opens new wing\n\nA wing.\n",
			articles: []string{"Solar farms expand across the region", "Hospital opens new wing"},
			body1:    "Three farms.",
		},
		{
			name:     "bold lines as headings, no table of contents",
			src:      "# 简报\n\n第3期\n\n**第一篇文章**\n\n正文一。\n\n**第二篇文章**\n\n正文二，被分页\n\n打断了。\n",
			articles: []string{"第一篇文章", "第二篇文章"},
			body1:    "正文一。",
		},
		{
			name:     "attributes mark the article level",
			src:      "# Notes\n\nNo. 5\n\nHello.\n\n## A {topics=x}\n\n### a1\n\nx.\n\n### a2\n\ny.\n\n### a3\n\nz.\n\n## B\n\nb.\n\n## C {topics=}\n\nc.\n",
			articles: []string{"A", "B", "C"},
			topics:   []string{"x/attribute", "/keywords", "/attribute"},
			intro:    "Hello.",
			body1:    "### a1\n\nx.\n\n### a2\n\ny.\n\n### a3\n\nz.",
		},
		{
			name:     "an article of label lines is not a colophon",
			src:      "# Guide\n\nNo. 6\n\n## News\n\nSomething happened.\n\n## Contacts\n\nPhone: 555 0101\n\nEmail: desk@example.org\n",
			articles: []string{"News", "Contacts"},
			body1:    "Something happened.",
			lastBody: "Phone: 555 0101\n\nEmail: desk@example.org",
		},
		{
			name:     "linked contents, author line kept in the article",
			src:      "# Review\n\nIssue 9\n\n1. [Rivers](#rivers)\n2. [Forests and their future](#forests)\n\n## Rivers\n\nWater.\n\n## Forests and their future: a survey\n\n### Oak\n\nx.\n\n### Ash\n\ny.\n\n### Elm\n\nTrees.\n\n(Author affiliation: Northfield University)\n",
			articles: []string{"Rivers", "Forests and their future: a survey"},
			body1:    "Water.",
			lastBody: "### Oak\n\nx.\n\n### Ash\n\ny.\n\n### Elm\n\nTrees.\n\n(Author affiliation: Northfield University)",
		},
		{
			name:     "fenced code keeps its headings",
			src:      "# Tech\n\nNo. 2\n\n## One\n\n```\n## not a heading\n```\n\n## Two\n\nt.\n",
			articles: []string{"One", "Two"},
			body1:    "```\n## not a heading\n```",
		},
		{
			name:     "CRLF and BOM",
			src:      "\uFEFF# T\r\n\r\nNo. 1\r\n\r\n## One\r\n\r\nline one\r\n\r\ncontinues.\r\n",
			articles: []string{"One"},
			body1:    "line one continues.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is, err := Parse("x.md", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var titles, topics []string
			for _, a := range is.Articles {
				titles = append(titles, a.Title)
				topics = append(topics, strings.Join(a.Topics, ",")+"/"+string(a.TaggedBy))
			}
			if strings.Join(titles, "|") != strings.Join(tt.articles, "|") {
				t.Errorf("articles %q, want %q", titles, tt.articles)
			}
			if tt.topics != nil && strings.Join(topics, " ") != strings.Join(tt.topics, " ") {
				t.Errorf("topics %q, want %q", topics, tt.topics)
			}
			if is.Intro != tt.intro {
				t.Errorf("intro %q, want %q", is.Intro, tt.intro)
			}
			if len(is.Articles) > 0 && is.Articles[0].Body != tt.body1 {
				t.Errorf("first body %q, want %q", is.Articles[0].Body, tt.body1)
			}
			if last := is.Articles[len(is.Articles)-1].Body; tt.lastBody != "" && last != tt.lastBody {
				t.Errorf("last body %q, want %q", last, tt.lastBody)
			}
			if is.Footer != "" {
				t.Errorf("footer %q, want none", is.Footer)
			}
		})
	}
}

func BenchmarkParseSample(b *testing.B) {
	src, err := os.ReadFile(sample)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("keji.md", src); err != nil {
			b.Fatal(err)
		}
	}
}
