package render

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
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

var tocLine = regexp.MustCompile(`^ *\d+\. `)

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

// parsed is a message as a reader other than ours sees it.
type parsed struct {
	header      mail.Header
	html, text  []byte
	htmlEncoded int
	partHeaders []map[string][]string
}

// parseMessage reads raw with net/mail, mime/multipart and encoding/base64.
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) >= 998 {
			t.Fatalf("line %d is %d bytes", i+1, len(line))
		}
		if bytes.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d has a bare CR or LF", i+1)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for i := 0; ; i++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.partHeaders = append(p.partHeaders, part.Header)
		if cte := part.Header.Get("Content-Transfer-Encoding"); cte != "base64" {
			t.Fatalf("part %d: transfer encoding %q", i, cte)
		}
		enc, _ := io.ReadAll(part)
		dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(enc)))
		if err != nil {
			t.Fatalf("part %d: base64: %v", i, err)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if cp["charset"] != "utf-8" {
			t.Fatalf("part %d: charset %q", i, cp["charset"])
		}
		switch {
		case ct == "text/plain" && i == 0:
			p.text = dec
		case ct == "text/html" && i == 1:
			p.html, p.htmlEncoded = dec, len(enc)
		default:
			t.Fatalf("part %d is %s: want text/plain then text/html", i, ct)
		}
	}
	return p
}

func writeMessage(t testing.TB, e *Edition, rc tidings.Recipient, o MessageOptions) ([]byte, MessageInfo) {
	t.Helper()
	var b bytes.Buffer
	info, err := e.WriteMessage(&b, rc, o)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != b.Len() {
		t.Fatalf("Size %d, wrote %d", info.Size, b.Len())
	}
	return b.Bytes(), info
}

func TestMessage(t *testing.T) {
	is := sampleIssue(t)
	e := prepare(t, zhList(), zhTopics(), is)
	rc := tidings.Recipient{SubscriberID: 77, Email: "zhang.wei@example.cn", Name: "张伟", Topics: []string{"transfer", "unicorn"}}
	raw, info := writeMessage(t, e, rc, MessageOptions{})
	p := parseMessage(t, raw)
	h := p.header
	dec := new(mime.WordDecoder)

	subj, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subj != "科技情报参考 第7期" {
		t.Errorf("Subject = %q (%v)", subj, err)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?utf-8?b?") {
		t.Errorf("Subject not RFC 2047 encoded: %q", h.Get("Subject"))
	}
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil || from.Address != "news@keji.example.org" || from.Name != "科技情报" {
		t.Errorf("From = %+v (%v)", from, err)
	}
	to, err := mail.ParseAddress(h.Get("To"))
	if err != nil || to.Address != rc.Email || to.Name != "张伟" {
		t.Errorf("To = %+v (%v)", to, err)
	}
	if h.Get("Reply-To") != "editor@keji.example.org" {
		t.Errorf("Reply-To = %q", h.Get("Reply-To"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixedNow) {
		t.Errorf("Date = %v (%v)", d, err)
	}
	wantID := "<tidings.i42.s77.keji@keji.example.org>"
	if h.Get("Message-ID") != wantID || info.MessageID != wantID {
		t.Errorf("Message-ID = %q / %q", h.Get("Message-ID"), info.MessageID)
	}
	raw2, _ := writeMessage(t, e, rc, MessageOptions{})
	if !bytes.Equal(raw, raw2) {
		t.Errorf("two writes of the same message differ")
	}
	listID, _ := dec.DecodeHeader(h.Get("List-Id"))
	if listID != "科技情报参考 <keji.keji.example.org>" {
		t.Errorf("List-Id = %q", listID)
	}
	lu := h.Get("List-Unsubscribe")
	m := regexp.MustCompile(`^<https://news\.example\.org/keji/unsubscribe/([a-z2-7]+)>, <mailto:unsubscribe\+([a-z2-7]+)@keji\.example\.org>$`).FindStringSubmatch(lu)
	if m == nil || m[1] != m[2] {
		t.Fatalf("List-Unsubscribe = %q", lu)
	}
	c, err := testSigner().Verify(m[1], token.Unsubscribe)
	if err != nil || c.SubscriberID != 77 || c.ListID != 1 {
		t.Errorf("unsubscribe token: %+v %v", c, err)
	}
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q", h.Get("List-Unsubscribe-Post"))
	}
	for _, k := range []string{"Feedback-ID", "MIME-Version", "List-Archive"} {
		if h.Get(k) == "" {
			t.Errorf("no %s header", k)
		}
	}
	// the parts decode to exactly HTML() and Text()
	wantHTML, _ := e.HTML(rc)
	wantText, _ := e.Text(rc)
	if !bytes.Equal(p.html, wantHTML) {
		t.Errorf("decoded HTML part differs from HTML()")
	}
	if !bytes.Equal(p.text, wantText) {
		t.Errorf("decoded text part differs from Text()")
	}
	if got := articlesIn(string(p.html)); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("articles = %v", got)
	}
	// links in the body carry this reader's tokens
	for _, want := range []string{"https://news.example.org/keji/unsubscribe/" + m[1], "https://news.example.org/keji/preferences/", "https://news.example.org/keji/archive/7", "zhang.wei@example.cn", "成果转化、独角兽"} {
		if !bytes.Contains(p.html, []byte(want)) || !bytes.Contains(p.text, []byte(want)) {
			t.Errorf("%q missing from a part", want)
		}
	}
	prefs := regexp.MustCompile(`preferences/([a-z2-7]+)`).FindSubmatch(p.html)
	if c, err := testSigner().Verify(string(prefs[1]), token.Preferences); err != nil || c.SubscriberID != 77 {
		t.Errorf("preferences token: %+v %v", c, err)
	}
	// ReturnPath is VERP with a bounce token
	rp := e.ReturnPath(rc)
	tok, ok := strings.CutPrefix(rp, "bounces+")
	tok, ok2 := strings.CutSuffix(tok, "@keji.example.org")
	if !ok || !ok2 {
		t.Fatalf("ReturnPath = %q", rp)
	}
	if c, err := testSigner().Verify(tok, token.Bounce); err != nil || c.SubscriberID != 77 || c.IssueID != 42 || c.ListID != 1 {
		t.Errorf("bounce token: %+v %v", c, err)
	}
}

func TestTestSend(t *testing.T) {
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	rc := tidings.Recipient{SubscriberID: 77, Email: "zhang.wei@example.cn", Name: "张伟", Topics: []string{"transfer"}}
	raw, _ := writeMessage(t, e, rc, MessageOptions{To: "editor@keji.example.org", Test: true})
	p := parseMessage(t, raw)
	subj, _ := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if subj != "[测试] 科技情报参考 第7期" {
		t.Errorf("Subject = %q", subj)
	}
	if to, _ := mail.ParseAddress(p.header.Get("To")); to == nil || to.Address != "editor@keji.example.org" || to.Name != "" {
		t.Errorf("To = %q", p.header.Get("To"))
	}
	// Working one-click headers (SpamAssassin and the mailbox providers
	// score bulk mail without them), for nobody: trying them on a copy
	// composed as a reader must not unsubscribe that reader.
	lu := p.header.Get("List-Unsubscribe")
	if p.header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(lu, "<https://news.example.org/keji/unsubscribe/") {
		t.Fatalf("test copy headers: List-Unsubscribe %q, Post %q", lu, p.header.Get("List-Unsubscribe-Post"))
	}
	tok := strings.TrimPrefix(lu[:strings.IndexByte(lu, '>')], "<https://news.example.org/keji/unsubscribe/")
	if c, err := testSigner().Verify(tok, token.Unsubscribe); err != nil || c.SubscriberID != 0 || c.ListID != 1 {
		t.Errorf("test copy unsubscribe token %+v %v: want a valid token for nobody", c, err)
	}
	if strings.Contains(string(p.html), testSigner().Sign(token.Claims{Purpose: token.Unsubscribe, SubscriberID: 77, ListID: 1})) {
		t.Errorf("the test copy's body carries the reader's own unsubscribe link")
	}
	if p.header.Get("Message-ID") == e.MessageID(rc) {
		t.Errorf("a test send reuses the real Message-ID")
	}
}

// No data can add a header: CR/LF in names, subjects, list names and
// addresses are neutralised or refused.
func TestHeaderInjection(t *testing.T) {
	evil := "x\r\nBcc: victim@evil.example\r\n\r\n<b>body</b>"
	l := zhList()
	l.Name = "科技" + evil
	l.From = "Evil" + "\r\nX-Injected: 1" + " <news@keji.example.org>"
	is := sampleIssue(t)
	is.Subject = "Hello" + evil
	e := prepare(t, l, zhTopics(), is)
	rc := tidings.Recipient{SubscriberID: 1, Email: "a@example.com", Name: "Mallory" + evil, AllTopics: true}
	raw, _ := writeMessage(t, e, rc, MessageOptions{})
	p := parseMessage(t, raw)
	for k := range p.header {
		switch strings.ToLower(k) {
		case "bcc", "x-injected":
			t.Errorf("injected header %s", k)
		}
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if strings.ContainsAny(subj, "\r\n") || !strings.Contains(subj, "Bcc: victim") {
		t.Errorf("Subject = %q", subj)
	}
	bad := []string{"a@example.com\r\nBcc: v@evil.example", "a@example.com\nX: y", "<a@example.com>", "a b@example.com", "a@example.com, v@evil.example", "", "nobody"}
	for _, addr := range bad {
		rc := tidings.Recipient{SubscriberID: 1, Email: addr, AllTopics: true}
		if _, err := e.WriteMessage(io.Discard, rc, MessageOptions{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("recipient %q: error %v, want ErrInvalid", addr, err)
		}
		if _, err := e.WriteMessage(io.Discard, tidings.Recipient{SubscriberID: 1, Email: "ok@example.com", AllTopics: true}, MessageOptions{To: addr}); addr != "" && !errors.Is(err, ErrInvalid) {
			t.Errorf("To %q: error %v, want ErrInvalid", addr, err)
		}
	}
	l2 := zhList()
	l2.From = "News <news@keji.example.org\r\nBcc: x@y>"
	if _, err := testRenderer().Prepare(l2, nil, sampleIssue(t)); err == nil {
		t.Errorf("Prepare accepted a From with CR/LF in the address")
	}
}

func TestSubjectRoundTrip(t *testing.T) {
	subjects := []string{
		"科技情报参考 第7期",
		"推动“科技”与“养老”深度融合！《上海市推进养老科技创新发展行动方案（2024-2027年）》正式发布——还有更多更长的标题文字用来测试折行",
		"Plain ASCII subject",
		"Mixed 中文 and English with a veryveryveryveryveryveryveryveryveryveryveryveryverylongword",
		"=?utf-8?b?notreally?= 💡",
		"=?utf-8?b?SGk=?=",
	}
	for _, s := range subjects {
		is := sampleIssue(t)
		is.Subject = s
		e := prepare(t, zhList(), zhTopics(), is)
		raw, _ := writeMessage(t, e, tidings.Recipient{SubscriberID: 1, Email: "a@example.com", AllTopics: true}, MessageOptions{})
		p := parseMessage(t, raw)
		got, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
		if err != nil || got != s {
			t.Errorf("Subject %q came back as %q (%v)", s, got, err)
		}
		for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
			if len(line) > 100 {
				t.Errorf("header line of %d bytes: %q", len(line), line)
			}
		}
	}
}

// The cached-chunk encoder gives the same bytes as encoding the whole
// part at once, for any split into chunks and slots.
func TestChunkEncoder(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 500; iter++ {
		var whole []byte
		enc := encoder{}
		for k := rng.Intn(6); k >= 0; k-- {
			b := make([]byte, rng.Intn(300))
			rng.Read(b)
			whole = append(whole, b...)
			if rng.Intn(2) == 0 {
				enc.static(newChunk(b))
			} else {
				enc.dynamic(b)
			}
		}
		enc.finish()
		for _, line := range strings.Split(string(enc.buf), "\r\n") {
			if len(line) > 76 {
				t.Fatalf("line of %d", len(line))
			}
		}
		got, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(enc.buf), "\r\n", ""))
		if err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("iteration %d: round trip failed: %v", iter, err)
		}
	}
}

// Several subscribers with different topic sets each get exactly their
// articles; checked by Python's email package too when python3 exists.
func TestPythonParses(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testpeers.Need(t, "python3", "install python3 (Debian package python3)")
	}
	e := prepare(t, zhList(), zhTopics(), sampleIssue(t))
	dir := t.TempDir()
	rcs := []tidings.Recipient{
		{SubscriberID: 1, Email: "a@example.cn", Name: "甲", AllTopics: true},
		{SubscriberID: 2, Email: "b@example.cn", Topics: []string{"finance"}},
		{SubscriberID: 3, Email: "c@example.cn", Name: "O'Brien, \"Jr\"", Topics: []string{"eldercare", "unicorn"}},
	}
	want := map[string]string{"a@example.cn": "1,2,3,4,5", "b@example.cn": "2,5", "c@example.cn": "1,4"}
	for _, rc := range rcs {
		raw, _ := writeMessage(t, e, rc, MessageOptions{})
		os.WriteFile(filepath.Join(dir, rc.Email+".eml"), raw, 0o644)
		h, _ := e.HTML(rc)
		tx, _ := e.Text(rc)
		os.WriteFile(filepath.Join(dir, rc.Email+".html"), h, 0o644)
		os.WriteFile(filepath.Join(dir, rc.Email+".txt"), tx, 0o644)
	}
	script := `
import sys, os, re, email
from email import policy
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if not f.endswith('.eml'): continue
    base = f[:-4]
    m = email.message_from_bytes(open(os.path.join(d, f), 'rb').read(), policy=policy.default)
    assert m.get_content_type() == 'multipart/alternative', m.get_content_type()
    parts = list(m.iter_parts())
    assert [p.get_content_type() for p in parts] == ['text/plain', 'text/html']
    for p, ext in zip(parts, ['txt', 'html']):
        assert p.get_content_charset() == 'utf-8'
        assert p.get_payload(decode=True) == open(os.path.join(d, base + '.' + ext), 'rb').read(), base + ext
    ids = re.findall(r'<td[^>]* id="a(\d+)"', parts[1].get_content())
    print(base, str(m['subject']), m['to'].addresses[0].username, ','.join(ids))
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[1] != "科技情报参考" || f[2] != "第7期" || want[f[0]] != f[4] {
			t.Errorf("python says %q", sc.Text())
		}
		n++
	}
	if n != len(rcs) {
		t.Errorf("python checked %d messages:\n%s", n, out)
	}
}

func TestEnglish(t *testing.T) {
	e := prepare(t, enList(), enTopics(), enIssue())
	rc := tidings.Recipient{SubscriberID: 3, Email: "ada@example.com", Name: "Ada Lovelace", Topics: []string{"ai", "policy"}}
	raw, _ := writeMessage(t, e, rc, MessageOptions{})
	p := parseMessage(t, raw)
	if s := p.header.Get("Subject"); s != "=?utf-8?b?TGFiIFdlZWtseSDigJQgTm8uIDM=?=" {
		// "—" is not ASCII, so even the English subject is encoded
		t.Errorf("Subject = %q", s)
	}
	if p.header.Get("List-Id") != `"Lab Weekly" <weekly.lab.example.com>` || p.header.Get("Content-Language") != "en" {
		t.Errorf("List-Id %q, Content-Language %q", p.header.Get("List-Id"), p.header.Get("Content-Language"))
	}
	html, text := string(p.html), string(p.text)
	if got := articlesIn(html); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("articles %v", got)
	}
	for _, want := range []string{`<html lang="en" dir="ltr"`, "In this issue", "Unsubscribe", "Change your topics", "View in your browser", "AI, Science policy", "1 Example Road"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "alert(1)") && !strings.Contains(html, "raw HTML omitted") {
		t.Errorf("raw HTML passed through")
	}
	if strings.Contains(html, "退订") || strings.Contains(text, "退订") {
		t.Errorf("Chinese words in an English mail")
	}
	for _, want := range []string{"three models [1]", "[1] https://example.com/models?a=1&b=2", "| tiny | 0.81 |", "- *surprisingly* good", "[diagram] [2]", "Links:"} {
		if want == "- *surprisingly* good" {
			want = "- surprisingly good"
		}
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\r\n") {
		if textWidth(line) > width && !strings.Contains(line, "://") {
			t.Errorf("text line over %d columns: %q", width, line)
		}
	}
}

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
