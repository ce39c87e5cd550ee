package render

import (
	"strings"
	"testing"

	"github.com/tidings/tidings"
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

// Hard-wrapped paragraphs in a whole mail of each language, kept as golden
// files (go test ./render -run SoftLineBreaksGolden -update): the English
// issue keeps a space at every break, punctuation included; the Chinese one
// joins CJK neighbours and keeps a space where Latin text meets a break.
func TestSoftLineBreaksGolden(t *testing.T) {
	zh := &tidings.Issue{ID: 43, ListID: 1, Number: 8, Title: "科技情报参考", Date: "2024-08-01",
		Intro: "本期收录两篇报道，\n均发表于2024年。\n第一篇讲的是\nAI 与养老。",
		Articles: []tidings.Article{
			{Position: 1, Title: "智能设备走进养老院", Topics: []string{"eldercare"},
				Body: "研究表明，\n老年人使用智能设备的比例\n逐年上升。\n报告发布于 2024.\nThe report is in English.\n*重点*\n见下文。"},
			{Position: 2, Title: "成果转化", Topics: []string{"transfer"},
				Body: "内蒙古\n科技厅（2024）\n发布了\n新政策。"},
		}}
	en := &tidings.Issue{ID: 44, ListID: 7, Number: 4, Title: "Lab Weekly", Date: "2024-08-02",
		Intro: "Two notes this week,\nboth short.\nRead on:\nthere is more.",
		Articles: []tidings.Article{
			{Position: 1, Title: "Wrapped lines", Topics: []string{"ai"},
				Body: "Was it published in 2024?\nYes (in July)\nand again in 2025.\nThe next line\nfollows; as does\n\"this quote\"\nand *this*\nword."},
			{Position: 2, Title: "Names", Topics: []string{"biology"},
				Body: "Written by 王芳\n(Wang Fang), with\n李雷."},
		}}
	cases := []struct {
		name    string
		e       *Edition
		rc      tidings.Recipient
		html    []string // what the HTML part must hold, soft breaks as a browser keeps them
		text    []string // what the text part must hold
		htmlNot []string
		textNot []string
	}{
		{"linebreaks-zh", prepare(t, zhList(), zhTopics(), zh), tidings.Recipient{SubscriberID: 5, Email: "wang@example.cn", AllTopics: true},
			[]string{"本期收录两篇报道，均发表于2024年。第一篇讲的是", "比例逐年上升。报告发布于 2024.\nThe report is in English.\n<em>重点</em>见下文。", "内蒙古科技厅（2024）发布了新政策。"},
			[]string{"本期收录两篇报道，均发表于2024年。第一篇讲的是 AI 与养老。", "研究表明，老年人使用智能设备的比例逐年上升。报告发布于 2024. The report is in", "内蒙古科技厅（2024）发布了新政策。"},
			[]string{"报道，\n", "比例\n"}, []string{"报道， ", "比例 逐年"}},
		{"linebreaks-en", prepare(t, enList(), enTopics(), en), tidings.Recipient{SubscriberID: 6, Email: "ada@example.com", AllTopics: true},
			[]string{"Two notes this week,\nboth short.\nRead on:\nthere is more.", "in 2024?\nYes (in July)\nand again in 2025.\nThe next line", "Written by 王芳\n(Wang Fang), with\n李雷."},
			[]string{"Two notes this week, both short. Read on: there is more.", "Was it published in 2024? Yes (in July) and again in 2025. The next line", "Written by 王芳 (Wang Fang), with 李雷."},
			[]string{"2024.The", "2024?Yes", "short.Read"}, []string{"2024.The", "2024?Yes", "short.Read"}},
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
			html := strings.ReplaceAll(string(h), "\r\n", "\n")
			text := strings.ReplaceAll(string(tx), "\r\n", "\n")
			unwrapped := strings.Join(strings.Fields(text), " ") // the text part wraps at 78 columns
			for _, s := range c.html {
				if !strings.Contains(html, s) {
					t.Errorf("HTML lacks %q", s)
				}
			}
			for _, s := range c.htmlNot {
				if strings.Contains(html, s) {
					t.Errorf("HTML holds %q", s)
				}
			}
			for _, s := range c.text {
				if !strings.Contains(unwrapped, strings.Join(strings.Fields(s), " ")) {
					t.Errorf("text part lacks %q", s)
				}
			}
			for _, s := range c.textNot {
				if strings.Contains(text, s) {
					t.Errorf("text part holds %q", s)
				}
			}
		})
	}
}
