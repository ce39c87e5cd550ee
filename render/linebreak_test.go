package render

import (
	"strings"
	"testing"
)

// A soft line break (a newline inside a paragraph) reads as a space between
// Latin neighbours, punctuation included, and vanishes between Chinese
// characters; the HTML and the text part agree. goldmark's CSS3-draft rule
// dropped the break after ASCII punctuation ("2024.The next line").
func TestSoftLineBreaks(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // the paragraph as a reader sees it
	}{
		{"english after full stop", "published in 2024.\nThe next line", "published in 2024. The next line"},
		{"english after comma", "one,\ntwo", "one, two"},
		{"english after closing paren", "(see above)\nand more", "(see above) and more"},
		{"english words", "the long\nsentence", "the long sentence"},
		{"chinese", "中文\n中文", "中文中文"},
		{"chinese after full-width comma", "研究表明，\n老年人", "研究表明，老年人"},
		{"chinese after full stop", "完成。\n下一句", "完成。下一句"},
		{"chinese then latin", "中文\nEnglish", "中文 English"},
		{"latin then chinese", "English\n中文", "English 中文"},
		{"ascii full stop before chinese", "in 2024.\n中文", "in 2024. 中文"},
		{"chinese before emphasis", "中文\n*强调*", "中文强调"},
		{"emphasis end then chinese", "*强调*\n中文", "强调中文"},
		{"emphasis end then english", "*bold*\nword", "bold word"},
		{"hangul keeps its space", "한국어\n문장", "한국어 문장"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := parseDoc(c.src)
			if err != nil {
				t.Fatal(err)
			}
			// A browser shows the newline goldmark keeps as a space.
			html := strings.NewReplacer("<p>", "", "</p>", "", "<em>", "", "</em>", "", "\n", " ").Replace(string(d.html))
			if got := strings.TrimSpace(html); got != c.want {
				t.Errorf("HTML %q reads %q, want %q", d.html, got, c.want)
			}
			w := newTextWriter()
			w.doc(d)
			if got := strings.TrimSpace(w.b.String()); got != c.want {
				t.Errorf("text reads %q, want %q", got, c.want)
			}
		})
	}
}
