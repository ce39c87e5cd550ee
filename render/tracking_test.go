package render

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/track"
)

var trackSigner = track.NewSigner([]byte("0123456789abcdef0123456789abcdef"))

func trackedRenderer() *Renderer {
	r := testRenderer()
	r.Track = trackSigner
	return r
}

// trackedIssue is the English issue with more kinds of links in its
// articles, and one in the masthead and footer (not articles: untracked).
func trackedIssue() *tidings.Issue {
	is := enIssue()
	is.Masthead = "Notes from [the bench](https://lab.example.com/about)."
	is.Articles[3].Body = "Two links: [one](http://one.example/x) and www.two.example/y, plus <https://three.example/z> and [mail](mailto:a@b.example)."
	return is
}

func prepareWith(t testing.TB, r *Renderer, l *tidings.List, is *tidings.Issue) *Edition {
	t.Helper()
	e, err := r.Prepare(l, enTopics(), is)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var everyone = tidings.Recipient{SubscriberID: 77, Email: "ada@example.com", AllTopics: true}

type anchor struct {
	href  string
	text  string
	attrs map[string]string
}

// anchors are the <a> elements of an HTML part, as a browser parses them.
func anchors(t testing.TB, h []byte) []anchor {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(h))
	if err != nil {
		t.Fatal(err)
	}
	var out []anchor
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" {
			a := anchor{attrs: map[string]string{}}
			for _, at := range n.Attr {
				a.attrs[at.Key] = at.Val
			}
			a.href = a.attrs["href"]
			var text func(*html.Node)
			text = func(c *html.Node) {
				if c.Type == html.TextNode {
					a.text += c.Data
				}
				for k := c.FirstChild; k != nil; k = k.NextSibling {
					text(k)
				}
			}
			text(n)
			out = append(out, a)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func tokenOf(t testing.TB, u, prefix string) string {
	t.Helper()
	tok, ok := strings.CutPrefix(u, "https://news.example.org"+prefix)
	if !ok {
		t.Fatalf("%q is not under %s", u, prefix)
	}
	return tok
}

// Every http(s) link of every article is rewritten, in both parts, to a
// token naming its article and index; reader-page links, the masthead,
// images and mailto: are not.
func TestTrackingRewritesArticleLinks(t *testing.T) {
	e := prepareWith(t, trackedRenderer(), enList(), trackedIssue())
	raw, _ := writeMessage(t, e, everyone, MessageOptions{})
	p := parseMessage(t, raw)

	want := map[[2]int]string{
		{1, 1}: "https://example.com/models?a=1&b=2",
		{3, 1}: "https://example.org/grants",
		{4, 1}: "http://one.example/x",
		{4, 2}: "http://www.two.example/y",
		{4, 3}: "https://three.example/z",
	}
	plan := e.TrackPlan()
	if len(plan.Links) != len(want) {
		t.Fatalf("plan has %d links, want %d: %+v", len(plan.Links), len(want), plan.Links)
	}
	for _, l := range plan.Links {
		if want[[2]int{l.Position, l.Link}] != l.URL {
			t.Errorf("plan link %d/%d = %q, want %q", l.Position, l.Link, l.URL, want[[2]int{l.Position, l.Link}])
		}
	}
	if fmt.Sprint(plan.Topics) != "[11 12 13]" {
		t.Errorf("plan topics %v", plan.Topics)
	}

	seen := map[[2]int]bool{}
	honeypots := 0
	for _, a := range anchors(t, p.html) {
		switch {
		case strings.HasPrefix(a.href, "https://news.example.org/c/"):
			ref, err := trackSigner.Verify(tokenOf(t, a.href, "/c/"), track.Click)
			if err != nil {
				hp, err2 := trackSigner.Verify(tokenOf(t, a.href, "/c/"), track.Honeypot)
				if err2 != nil {
					t.Fatalf("%s: %v", a.href, err)
				}
				honeypots++
				if a.text != "" || a.attrs["aria-hidden"] != "true" || a.attrs["tabindex"] != "-1" || !strings.Contains(a.attrs["style"], "display:none") {
					t.Errorf("honeypot can be seen or reached: %+v", a)
				}
				if hp.Issue != 9 || hp.Subscriber != 0 {
					t.Errorf("honeypot ref %+v", hp)
				}
				continue
			}
			k := [2]int{ref.Position, ref.Link}
			if want[k] == "" {
				t.Errorf("token names unknown link %v", k)
			}
			seen[k] = true
			if ref.Issue != 9 || ref.Subscriber != 0 || ref.TopicSet != 0b111 || !ref.Sent.Equal(fixedNow) {
				t.Errorf("ref %+v: want issue 9, no subscriber (aggregate), all topics, sent at the clock", ref)
			}
			if len(a.href) > 120 {
				t.Errorf("tracked link is %d characters: %s", len(a.href), a.href)
			}
		case strings.HasPrefix(a.href, "mailto:"):
		case strings.Contains(a.href, "/weekly/"):
			// reader pages: archive, preferences, unsubscribe
		case a.href == "https://lab.example.com/about":
			// masthead, not an article
		default:
			for _, u := range want {
				if a.href == u {
					t.Errorf("article link %s left untracked", u)
				}
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("tracked links seen %v, want %d", seen, len(want))
	}
	if honeypots != 1 {
		t.Errorf("%d honeypots in the HTML part, want 1", honeypots)
	}
	if bytes.Contains(p.html, []byte("/o/")) {
		t.Error("opens are off but the HTML part has an open image")
	}

	// text part: readable, every article link tracked, no honeypot
	text := string(p.text)
	for _, s := range []string{"three models [", "www.two.example/y [", "https://example.org/grants ["} {
		if !strings.Contains(text, s) {
			t.Errorf("text part lacks %q", s)
		}
	}
	for _, u := range want {
		if strings.Contains(text, "] "+u) {
			t.Errorf("text part's link list has the untracked %s", u)
		}
	}
	refs := regexp.MustCompile(`https://news\.example\.org/c/([A-Za-z0-9_-]+)`).FindAllStringSubmatch(text, -1)
	if len(refs) != len(want) {
		t.Errorf("text part has %d tracked URLs, want %d (no honeypot)", len(refs), len(want))
	}
	for _, m := range refs {
		if _, err := trackSigner.Verify(m[1], track.Click); err != nil {
			t.Errorf("text part token %s: %v", m[1], err)
		}
	}
	if !strings.Contains(text, "https://lab.example.com/about") {
		t.Error("masthead link was tracked or lost in the text part")
	}
}

// A list whose clicks and opens are off, and a renderer without a
// signer (previews, the archive), render exactly as before.
func TestTrackingOffLeavesLinksUntouched(t *testing.T) {
	off := enList()
	off.Clicks, off.Opens = tidings.TrackOff, tidings.TrackOff
	plain := prepareWith(t, testRenderer(), enList(), trackedIssue())
	for name, e := range map[string]*Edition{
		"off":       prepareWith(t, trackedRenderer(), off, trackedIssue()),
		"no signer": plain,
	} {
		t.Run(name, func(t *testing.T) {
			h, _ := e.HTML(everyone)
			want, _ := plain.HTML(everyone)
			if !bytes.Equal(h, want) {
				t.Error("HTML differs from an untracked rendering")
			}
			if bytes.Contains(h, []byte("/c/")) || bytes.Contains(h, []byte("/o/")) {
				t.Error("tracking URL in an untracked message")
			}
			if p := e.TrackPlan(); len(p.Links) != 0 {
				t.Errorf("plan %+v", p)
			}
		})
	}
}

// Opens on: one 1×1 image per HTML part, none in the text part;
// individual modes put the subscriber in their kind's tokens only.
func TestTrackingOpensAndIndividual(t *testing.T) {
	l := enList()
	l.Clicks, l.Opens = tidings.TrackAggregate, tidings.TrackIndividual
	e := prepareWith(t, trackedRenderer(), l, trackedIssue())
	rc := tidings.Recipient{SubscriberID: 77, Email: "ada@example.com", Topics: []string{"ai", "policy"}}
	p := parseMessage(t, must(writeMessage(t, e, rc, MessageOptions{})))
	imgs := regexp.MustCompile(`<img src="https://news\.example\.org/o/([A-Za-z0-9_-]+)" width="1" height="1" alt=""`).FindAllSubmatch(p.html, -1)
	if len(imgs) != 1 {
		t.Fatalf("%d open images", len(imgs))
	}
	ref, err := trackSigner.Verify(string(imgs[0][1]), track.Open)
	if err != nil || ref.Subscriber != 77 || ref.TopicSet != 0b101 {
		t.Errorf("open ref %+v %v: want subscriber 77 and topics ai+policy (bits 0 and 2)", ref, err)
	}
	if bytes.Contains(p.text, []byte("/o/")) {
		t.Error("open image URL in the text part")
	}
	for _, a := range anchors(t, p.html) {
		if tok, ok := strings.CutPrefix(a.href, "https://news.example.org/c/"); ok {
			if r, err := trackSigner.Verify(tok, track.Click); err == nil && r.Subscriber != 0 {
				t.Errorf("aggregate clicks but the token names subscriber %d", r.Subscriber)
			}
		}
	}

	l.Clicks = tidings.TrackIndividual
	e = prepareWith(t, trackedRenderer(), l, trackedIssue())
	h, _ := e.HTML(rc)
	for _, a := range anchors(t, h) {
		if tok, ok := strings.CutPrefix(a.href, "https://news.example.org/c/"); ok {
			if r, err := trackSigner.Verify(tok, track.Click); err == nil && r.Subscriber != 77 {
				t.Errorf("individual clicks but the token names %d", r.Subscriber)
			}
		}
	}
}

func must(b []byte, _ MessageInfo) []byte { return b }

// Each message gets its own tokens (nonce), yet readers of one article
// set share one rendered body; test copies carry test tokens.
func TestTrackingKeepsBodyCache(t *testing.T) {
	e := prepareWith(t, trackedRenderer(), enList(), trackedIssue())
	nonces := map[uint32]bool{}
	for i := range 50 {
		rc := tidings.Recipient{SubscriberID: int64(i + 1), Email: fmt.Sprintf("r%d@example.com", i), AllTopics: true}
		p := parseMessage(t, must(writeMessage(t, e, rc, MessageOptions{})))
		m := regexp.MustCompile(`/c/([A-Za-z0-9_-]+)`).FindSubmatch(p.text)
		ref, err := trackSigner.Verify(string(m[1]), track.Click)
		if err != nil {
			t.Fatal(err)
		}
		nonces[ref.Nonce] = true
	}
	if len(nonces) < 49 {
		t.Errorf("only %d distinct message nonces in 50 messages", len(nonces))
	}
	if len(e.bodies) != 1 {
		t.Errorf("%d bodies rendered for one article set", len(e.bodies))
	}
	p := parseMessage(t, must(writeMessage(t, e, everyone, MessageOptions{Test: true, To: "editor@example.com"})))
	m := regexp.MustCompile(`/c/([A-Za-z0-9_-]+)`).FindSubmatch(p.text)
	if ref, err := trackSigner.Verify(string(m[1]), track.Click); err != nil || !ref.Test {
		t.Errorf("test copy's token %+v %v: want a test token", ref, err)
	}
}

// The text part of a tracked message, tokens masked: what a reader of
// plain text sees.
func TestTrackingGoldenText(t *testing.T) {
	l := enList()
	l.Opens = tidings.TrackAggregate
	e := prepareWith(t, trackedRenderer(), l, trackedIssue())
	tx, err := e.Text(everyone)
	if err != nil {
		t.Fatal(err)
	}
	masked := regexp.MustCompile(`(/[co]/)[A-Za-z0-9_-]{20,}`).ReplaceAll(tx, []byte("${1}TOKEN"))
	goldenCheck(t, "weekly-tracked.txt", masked)
}

// BenchmarkWriteMessageTracked is BenchmarkWriteMessage's send with every
// article carrying two links, tracked (clicks and opens aggregate), next
// to the same issue untracked: the price of per-message tokens.
func BenchmarkWriteMessageTracked(b *testing.B) {
	for _, tracked := range []bool{false, true} {
		b.Run(fmt.Sprintf("tracked=%v", tracked), func(b *testing.B) {
			is := sampleIssue(b)
			for i := range is.Articles {
				is.Articles[i].Body += fmt.Sprintf("\n\n[来源](https://source.example.cn/a/%d) · https://example.org/more/%d", i, i)
			}
			r := testRenderer()
			l := zhList()
			l.Opens = tidings.TrackAggregate
			if tracked {
				r.Track = trackSigner
			}
			e, err := r.Prepare(l, zhTopics(), is)
			if err != nil {
				b.Fatal(err)
			}
			rcs := benchRecipients(100_000)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := e.WriteMessage(io.Discard, rcs[i%len(rcs)], MessageOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// A list with more topics than a topic set has bits: the first 63 (by
// id) are named, the set stays a non-negative SQLite integer.
func TestTrackingManyTopics(t *testing.T) {
	var topics []tidings.Topic
	for i := range 70 {
		topics = append(topics, tidings.Topic{ID: int64(100 + i), Slug: fmt.Sprintf("t%02d", i), Name: fmt.Sprintf("T%d", i)})
	}
	e, err := trackedRenderer().Prepare(enList(), topics, trackedIssue())
	if err != nil {
		t.Fatal(err)
	}
	if p := e.TrackPlan(); len(p.Topics) != 63 || p.Topics[0] != 100 || p.Topics[62] != 162 {
		t.Fatalf("plan names %d topics", len(p.Topics))
	}
	for _, rc := range []tidings.Recipient{everyone, {SubscriberID: 5, Email: "x@example.com", Topics: []string{"t62", "t69"}}} {
		tx, _ := e.Text(rc)
		m := regexp.MustCompile(`/c/([A-Za-z0-9_-]+)`).FindSubmatch(tx)
		ref, err := trackSigner.Verify(string(m[1]), track.Click)
		if err != nil || int64(ref.TopicSet) < 0 {
			t.Errorf("%v: topic set %x %v", rc.Topics, ref.TopicSet, err)
		}
		if !rc.AllTopics && ref.TopicSet != 1<<62 {
			t.Errorf("t62+t69: set %x, want bit 62 only", ref.TopicSet)
		}
	}
}
