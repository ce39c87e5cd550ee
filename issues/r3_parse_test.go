package issues

import (
	"strings"
	"testing"
)

// Front matter errors point at the line to fix, whether yaml.v3's parser
// (0-based line in its message), its scanner or its decoder found them.
func TestR3FrontMatterErrorLine(t *testing.T) {
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
// heading, or a short line of its own (a signature, a date) to what
// follows or precedes it.
func TestR3NoFalseJoins(t *testing.T) {
	src := "# 简报\n\n第2期\n\n" +
		"## 第一篇\n\n" +
		"加快国家\n\n级高水平科创平台布局。\n\n" + // a real split: joined
		"主要措施包括\n\n- 强化政策引导\n- 加大资金投入\n\n后续工作持续推进。\n\n" + // list stays a list
		"### 小标题\n\n正文继续。\n\n" +
		"特此通知。\n\n某省科学技术厅\n\n2023年11月20日\n\n" + // signature and date: separate lines
		"## 第二篇\n\n内容。\n"
	is, err := Parse("x.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(is.Articles) != 2 {
		t.Fatalf("%d articles", len(is.Articles))
	}
	got := paragraphs(is.Articles[0].Body)
	want := []string{
		"加快国家级高水平科创平台布局。",
		"主要措施包括",
		"- 强化政策引导\n- 加大资金投入",
		"后续工作持续推进。",
		"### 小标题",
		"正文继续。",
		"特此通知。",
		"某省科学技术厅",
		"2023年11月20日",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("body blocks:\n%q\nwant:\n%q", got, want)
	}
}
