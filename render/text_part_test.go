package render

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

var tocLine = regexp.MustCompile(`^ *\d+\. `)

func TestWrap(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"short line", []string{"short line"}},
		{strings.Repeat("word ", 20), []string{strings.TrimSpace(strings.Repeat("word ", 15)), strings.TrimSpace(strings.Repeat("word ", 5))}},
		// Chinese: no break inside a sentence, however long
		{strings.Repeat("科技", 50) + "。", []string{strings.Repeat("科技", 50) + "。"}},
		// Chinese: breaks after sentence ends (and keeps the closing quote)
		{strings.Repeat("创新", 15) + "。”" + strings.Repeat("发展", 5) + "！" + strings.Repeat("产业", 5) + "。",
			[]string{strings.Repeat("创新", 15) + "。”", strings.Repeat("发展", 5) + "！" + strings.Repeat("产业", 5) + "。"}},
		// a space next to a Chinese character is no break
		{strings.Repeat("科技", 30) + " 2024 年" + strings.Repeat("产业", 10), []string{strings.Repeat("科技", 30) + " 2024 年" + strings.Repeat("产业", 10)}},
	}
	for i, tc := range tests {
		if got := wrapText(tc.in, width); !slices.Equal(got, tc.want) {
			t.Errorf("%d: wrapText = %q, want %q", i, got, tc.want)
		}
	}
}

func TestTextFromMarkdown(t *testing.T) {
	tests := []struct{ md, want string }{
		// a line break inside Chinese text vanishes; between Latin words it is a space
		{"第一行中文\n第二行。", "第一行中文第二行。\n"},
		{"Latin\nwords", "Latin words\n"},
		{"中文\nEnglish", "中文 English\n"},
		// links are numbered once per URL; unsafe ones are not listed
		{"[a](https://x.example/1) [b](https://x.example/1) [c](javascript:alert(1))", "a [1] b [1] c\n"},
		{"# Title\n\ntext", "Title\n=====\n\ntext\n"},
		{"1. one\n2. two", "1. one\n2. two\n"},
		{"> quoted", "> quoted\n"},
		{"<b>raw</b> html", "raw html\n"},
	}
	for _, tc := range tests {
		d, err := parseDoc(tc.md)
		if err != nil {
			t.Fatal(err)
		}
		w := newTextWriter()
		w.doc(d)
		if got := strings.TrimRight(w.b.String(), "\n") + "\n"; got != tc.want {
			t.Errorf("%q: text %q, want %q", tc.md, got, tc.want)
		}
	}
}

// The sample's text part keeps Chinese sentences whole and joins lines
// the CJK way (no stray spaces).
func TestSampleText(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	tx, err := e.Text(tidings.Recipient{SubscriberID: 1, Email: "a@example.cn", AllTopics: true})
	if err != nil {
		t.Fatal(err)
	}
	s := string(tx)
	for _, want := range []string{"康复机器人、外骨骼机器人等健康促进设备", "本期目录", "编辑：李 涛", "退订：https://news.example.org/keji/unsubscribe/"} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for _, line := range strings.Split(s, "\r\n") {
		r := []rune(strings.TrimSpace(line))
		if tocLine.MatchString(line) {
			continue // a title, not a sentence
		}
		if len(r) == 0 || !isWide(r[len(r)-1]) || textWidth(line) <= width {
			continue
		}
		// a long Chinese line must end a sentence
		if !strings.ContainsRune(sentenceEnd+closers, r[len(r)-1]) {
			t.Errorf("Chinese line broken mid-sentence: %q", line)
		}
	}
}
