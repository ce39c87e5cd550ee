package render

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// A full-width sentence end is a break even after a closing quote or a
// Latin character ("…新城”。", "10.9%；"), so a long Chinese paragraph
// is not left as one line of several sentences; ASCII "!" and "?" in Latin
// text still break only at the space after them.
func TestWrapSentenceEnds(t *testing.T) {
	a := "6月16日，在2024中国（重庆）独角兽企业大会上，扬州获评“独角兽企业新城”。"
	b := "在今年4月胡润研究院发布的“2024全球独角兽榜”中，高邮企业航天锂电科技（江苏）有限公司入选。"
	c := "今年 1-5月工业企业研发支出达 13.7 亿元，增幅 10.9%；"
	d := "每万人发明专利拥有量 98.41 项，居宁波市首位，位居全省前列，继续保持领先。"
	tests := []struct {
		in   string
		want []string
	}{
		{a + b, []string{a, b}},
		{c + d, []string{c, d}},
		{"Really?" + strings.Repeat(" word", 16), []string{"Really?" + strings.Repeat(" word", 14), "word word"}},
	}
	for _, tc := range tests {
		if got := wrapText(tc.in, width); !slices.Equal(got, tc.want) {
			t.Errorf("wrapText(%q) =\n%q\nwant\n%q", tc.in, got, tc.want)
		}
	}
}

// WriteMessage does only per-reader work: no time zone file read from
// disk per message (list.Location() used to be called for every Date
// header: 10 allocations and a file read each time). The bound leaves
// room for the token signer's own allocations (about 20 of the 25).
func TestWriteMessageAllocs(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	rc := tidings.Recipient{SubscriberID: 9, Email: "a@example.cn", Topics: []string{"finance"}}
	if _, err := e.WriteMessage(io.Discard, rc, MessageOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { e.WriteMessage(io.Discard, rc, MessageOptions{}) }); n > 30 {
		t.Errorf("%.0f allocations per message, want at most 30", n)
	}
}

// A slot sentinel in any text outside the Markdown (subject, preheader,
// list name, address, topic names) is refused like one in an article:
// otherwise a reader's token or address would be spliced in there.
func TestSentinelOutsideMarkdown(t *testing.T) {
	s := "x " + sentinel(slotEmail) + " y"
	cases := map[string]func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue){
		"subject":   func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue) { is.Subject = s },
		"preheader": func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue) { is.Preheader = s },
		"list name": func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue) { l.Name = s },
		"address":   func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue) { l.Address = s },
		"topic":     func(l *tidings.List, tp []tidings.Topic, is *tidings.Issue) { tp[0].Name = s },
	}
	for name, set := range cases {
		l, tp, is := enList(), enTopics(), enIssue()
		set(l, tp, is)
		if _, err := testRenderer().Prepare(l, tp, is); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), sentinelPrefix) {
			t.Errorf("%s with a sentinel: %v, want ErrInvalid", name, err)
		}
	}
}
