package issues

import (
	"os"
	"strings"
	"testing"
)

// Front matter errors point at the line to fix, whether yaml.v3's parser
// (0-based line in its message), its scanner or its decoder found them.
func TestFrontMatterErrorLine(t *testing.T) {
	tests := []struct{ src, want string }{
		{"---\ntitle: T\nnumber: [1\n---\n## A\n", "fm.md:3: front matter: did not find expected ',' or ']'"},
		{"---\ntitle: T\nnumber: {a: 1\n---\n## A\n", "fm.md:3: front matter: did not find expected ',' or '}'"},
		{"---\n[oops\n---\n## A\n", "fm.md:2: front matter: did not find expected ',' or ']'"},
		{"---\ntitle: T\n  number: 1\n---\n## A\n", "fm.md:3: front matter: mapping values are not allowed in this context"},
		{"---\ntitle: T\nnumber: 1\ndate: 2024-07-01\n  bad: indent\n---\n## A\n", "fm.md:5: front matter: mapping values are not allowed"},
		{"---\ntitle: T\nnumber: seven\n---\n## A\n", "fm.md:3: front matter: cannot unmarshal"},
		{"---\ntitle: T\n- x\n---\n## A\n", "fm.md:3: front matter: did not find expected key"},
	}
	for _, tt := range tests {
		_, err := Parse("fm.md", []byte(tt.src))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want prefix %q", tt.src, err, tt.want)
		}
	}
}

// Only a paragraph cut by a page break is joined: never a list item, a
// heading, a caption, a paragraph ending in a URL, or a short line of its
// own (a signature, a date) to what follows or precedes it. Chinese and
// Latin bulletins alike.
func TestNoFalseJoins(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"chinese",
			"加快国家\n\n级高水平科创平台布局。\n\n" + // a real split: joined
				"主要措施包括\n\n- 强化政策引导\n- 加大资金投入\n\n后续工作持续推进。\n\n" + // the list stays a list
				"### 小标题\n\n正文继续。\n\n" +
				"特此通知。\n\n某省科学技术厅\n\n2023年11月20日\n\n" + // signature and date: lines of their own
				"图1 2024年各区研发投入\n\n全区研发投入持续增长。",
			[]string{"加快国家级高水平科创平台布局。", "主要措施包括", "- 强化政策引导\n- 加大资金投入", "后续工作持续推进。", "### 小标题", "正文继续。",
				"特此通知。", "某省科学技术厅", "2023年11月20日", "图1 2024年各区研发投入", "全区研发投入持续增长。"}},
		{"latin",
			"Regulators said the rules will\n\nrequire operators to report capacity.\n\n" +
				"See the full text at https://example.org/rules-2025-storage-and-grid-connection-requirements\n\n" +
				"The agency also published a summary of the comments it received during the consultation.\n\n" +
				"Figure 1 Storage capacity by region in the first quarter\n\nThe figure shows growth.",
			[]string{"Regulators said the rules will require operators to report capacity.",
				"See the full text at https://example.org/rules-2025-storage-and-grid-connection-requirements",
				"The agency also published a summary of the comments it received during the consultation.",
				"Figure 1 Storage capacity by region in the first quarter", "The figure shows growth."}},
	}
	for _, tt := range tests {
		src := "# Brief\n\nNo. 2\n\n## First\n\n" + tt.body + "\n\n## Second\n\nMore.\n"
		is, err := Parse("x.md", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if len(is.Articles) != 2 {
			t.Fatalf("%s: %d articles", tt.name, len(is.Articles))
		}
		if got := paragraphs(is.Articles[0].Body); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: body blocks:\n%q\nwant:\n%q", tt.name, got, tt.want)
		}
	}
}

// A source line ending the last article ("数据来源：…", "Data source: …")
// stays in the article; the colophon after it is the footer.
func TestSourceLineIsNotColophon(t *testing.T) {
	for _, label := range []string{"数据来源", "信息来源", "资料来源", "Data source"} {
		src := "# 简报\n\n第3期\n\n## 第一篇\n\n正文。\n\n## 第二篇\n\n深圳市持续加大基础研究投入。\n\n" +
			label + "：深圳市科技创新局\n\n编辑：李 涛\n\n电话：4366683\n"
		is, err := Parse("x.md", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		last := is.Articles[len(is.Articles)-1].Body
		if !strings.HasSuffix(last, label+"：深圳市科技创新局") || is.Footer != "编辑：李 涛\n\n电话：4366683" {
			t.Errorf("%s: last body %q, footer %q", label, last, is.Footer)
		}
	}
}

// Without a table of contents and attributes the most frequent heading
// level marks articles; a higher heading with text of its own is an
// article too (the first article of the sample is "##", the rest "###"),
// while one that only labels a section is not.
func TestFallbackLevelKeepsHigherArticles(t *testing.T) {
	src, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.Split(string(src), "\n") {
		if !strings.Contains(l, "★") {
			kept = append(kept, l)
		}
	}
	is, err := Parse("notoc.md", []byte(strings.Join(kept, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	if len(is.Articles) != 11 || is.Articles[0].Title != "推动“科技”与“养老”深度融合！《上海市推进养老科技创新发展行动方案（2024-2027年）》正式发布" ||
		is.Articles[1].Title != "南京市以科技创新驱动提升生物医药产业能级" || strings.Contains(is.Intro, "养老") {
		t.Errorf("%d articles, first %q, second %q, intro %.40q", len(is.Articles), is.Articles[0].Title, is.Articles[1].Title, is.Intro)
	}

	sections := "# Digest\n\nNo. 4\n\n## Energy\n\n### Solar farms\n\nThree farms.\n\n### Wind\n\nTurbines.\n\n## Health\n\n### Hospital wing\n\nA wing.\n"
	is, err = Parse("sections.md", []byte(sections))
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range is.Articles {
		titles = append(titles, a.Title)
	}
	if strings.Join(titles, "|") != "Solar farms|Wind|Hospital wing" {
		t.Errorf("articles %q: section labels must not become articles", titles)
	}
}
