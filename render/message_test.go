package render

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
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
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/token"
)

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
