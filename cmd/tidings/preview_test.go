package main

import (
	"bytes"
	"encoding/base64"
	"io"
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

	"github.com/tidings/tidings/internal/testpeers"
)

// previewEnv is a database with the sample bulletin imported into list
// keji, its five articles tagged by hand, and four subscribers.
func previewEnv(t *testing.T) map[string]string {
	t.Helper()
	env := testEnv(t)
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报参考", "--from", "科技情报 <news@keji.example.org>", "--lang", "zh", "--address", "呼和浩特市新华大街1号")
	for _, tp := range [][2]string{{"eldercare", "养老科技"}, {"biomed", "生物医药"}, {"transfer", "成果转化"}, {"unicorn", "独角兽"}, {"platform", "创新平台"}, {"finance", "科技金融"}} {
		mustRunCLI(t, env, "topic", "add", tp[0], "--name", tp[1])
	}
	mustRunCLI(t, env, "sub", "add", "all@example.cn", "--name", "全体", "--topics", "all")
	mustRunCLI(t, env, "sub", "add", "fin@example.cn", "--topics", "finance")
	mustRunCLI(t, env, "sub", "add", "two@example.cn", "--name", "O'Brien", "--topics", "eldercare,unicorn")
	mustRunCLI(t, env, "sub", "add", "none@example.cn", "--topics", "none")
	mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md")
	for pos, topics := range []string{"eldercare", "biomed,finance", "transfer", "unicorn", "platform,finance"} {
		mustRunCLI(t, env, "issue", "tag", "1", string(rune('1'+pos)), topics)
	}
	return env
}

var previewAnchor = regexp.MustCompile(`<td[^>]* id="a(\d+)"`)

// checkEML parses a message with net/mail, mime/multipart and
// encoding/base64 (not the writer's code) and returns the decoded parts.
func checkEML(t *testing.T, raw []byte) (h mail.Header, text, html string) {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) >= 998 || strings.ContainsAny(line, "\r\n") {
			t.Fatalf("line %d: %d bytes or bare CR/LF", i+1, len(line))
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if cp["charset"] != "utf-8" || p.Header.Get("Content-Transfer-Encoding") != "base64" {
			t.Fatalf("part %s: charset %q, encoding %q", ct, cp["charset"], p.Header.Get("Content-Transfer-Encoding"))
		}
		dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatalf("part %s: %v", ct, err)
		}
		types = append(types, ct)
		if ct == "text/plain" {
			text = string(dec)
		} else {
			html = string(dec)
		}
	}
	if !slices.Equal(types, []string{"text/plain", "text/html"}) {
		t.Fatalf("parts %v, want text/plain then text/html", types)
	}
	return m.Header, text, html
}

func TestIssuePreview(t *testing.T) {
	env := previewEnv(t)
	want := map[string][]string{
		"all@example.cn": {"1", "2", "3", "4", "5"},
		"fin@example.cn": {"2", "5"},
		"two@example.cn": {"1", "4"},
	}
	dec := new(mime.WordDecoder)
	for to, arts := range want {
		out := mustRunCLI(t, env, "issue", "preview", "1", "--to", to)
		h, text, html := checkEML(t, []byte(out))
		if a, err := mail.ParseAddress(h.Get("To")); err != nil || a.Address != to {
			t.Errorf("%s: To %q", to, h.Get("To"))
		}
		if s, _ := dec.DecodeHeader(h.Get("Subject")); s != "科技情报参考 第7期" {
			t.Errorf("%s: Subject %q", to, s)
		}
		if !strings.HasPrefix(h.Get("List-Unsubscribe"), "<https://news.example.org/keji/unsubscribe/") || h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe %q", to, h.Get("List-Unsubscribe"))
		}
		if !regexp.MustCompile(`^<tidings\.i1\.s\d+\.keji@keji\.example\.org>$`).MatchString(h.Get("Message-ID")) {
			t.Errorf("%s: Message-ID %q", to, h.Get("Message-ID"))
		}
		var got []string
		for _, m := range previewAnchor.FindAllStringSubmatch(html, -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, arts) {
			t.Errorf("%s: HTML articles %v, want %v", to, got, arts)
		}
		if n := strings.Count(text, "\r\n=="); n != len(arts) {
			t.Errorf("%s: %d article headings in the text part, want %d", to, n, len(arts))
		}
		if !strings.Contains(text, to) || !strings.Contains(html, to) {
			t.Errorf("%s: address missing from the footer", to)
		}
	}
}

func TestIssuePreviewFiles(t *testing.T) {
	env := previewEnv(t)
	dir := t.TempDir()
	htmlF, textF, emlF := filepath.Join(dir, "p.html"), filepath.Join(dir, "p.txt"), filepath.Join(dir, "p.eml")
	out := mustRunCLI(t, env, "issue", "preview", "1", "--to", "fin@example.cn", "--html", htmlF, "--text", textF, "--eml", emlF)
	if out != "" {
		t.Errorf("stdout %q with file flags", out)
	}
	eml, _ := os.ReadFile(emlF)
	_, text, html := checkEML(t, eml)
	hb, _ := os.ReadFile(htmlF)
	tb, _ := os.ReadFile(textF)
	if string(hb) != html || string(tb) != text {
		t.Errorf("--html/--text files differ from the parts of --eml")
	}
	// Python's email package, a second independent reader
	py, err := exec.LookPath("python3")
	if err != nil {
		testpeers.Need(t, "python3", "install python3 (Debian package python3)")
		return
	}
	script := `
import sys, re, email
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ['text/plain', 'text/html'], [p.get_content_type() for p in parts]
assert all(p.get_content_charset() == 'utf-8' for p in parts)
assert parts[0].get_payload(decode=True) == open(sys.argv[2], 'rb').read()
assert parts[1].get_payload(decode=True) == open(sys.argv[3], 'rb').read()
print(str(m['subject']), m['to'].addresses[0].addr_spec, ','.join(re.findall(r'<td[^>]* id="a(\d+)"', parts[1].get_content())))
`
	pyOut, err := exec.Command(py, "-c", script, emlF, textF, htmlF).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, pyOut)
	}
	if got := strings.TrimSpace(string(pyOut)); got != "科技情报参考 第7期 fin@example.cn 2,5" {
		t.Errorf("python reads %q", got)
	}
}

func TestIssuePreviewErrors(t *testing.T) {
	env := previewEnv(t)
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"issue", "preview", "1", "--to", "stranger@example.cn"}, 1, "stranger@example.cn is not a subscriber of list keji"},
		{[]string{"issue", "preview", "1", "--to", "none@example.cn"}, 1, "gets no article of issue 1"},
		{[]string{"issue", "preview", "99", "--to", "all@example.cn"}, 1, "issue 99"},
		{[]string{"issue", "preview", "1"}, 2, "--to EMAIL is required"},
		{[]string{"issue", "preview", "x", "--to", "all@example.cn"}, 2, "issue id"},
		{[]string{"issue", "preview", "--to", "all@example.cn"}, 2, "want ID"},
	}
	for _, tc := range tests {
		out, errs, code := runCLI(t, env, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %d bytes; want exit %d and %q", tc.args, code, errs, len(out), tc.code, tc.msg)
		}
	}
}
