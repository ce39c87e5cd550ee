package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
)

// The mail tidings really sends (rendered, with the list's Reply-To and
// one-click headers, signed with the list's own key) over-signs the fields
// a reader sees or a provider acts on, and both go-msgauth and Python's
// dkim (dkimpy) agree: the message as sent passes, and a copy with a second
// Subject, From or List-Unsubscribe prepended, or Reply-To replaced, fails.
// mailer's tests check the signer on a fixed message; this one checks the
// headers the renderer writes are the ones the signer covers.
func TestSentMailIsOverSigned(t *testing.T) {
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import dkim, nacl").Run(); err != nil {
		testpeers.Need(t, "python3-dkim", "install Debian packages python3-dkim python3-nacl")
	}
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh",
		"--reply-to", "editors@example.org")
	mustRunCLI(t, env, "sub", "add", "reader@example.com", "--list", "keji")
	mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md", "--list", "keji")
	pemKey, txt, err := mailer.GenerateDKIMKey("rsa")
	if err != nil {
		t.Fatal(err)
	}
	mustRunCLI(t, env, "list", "set", "keji", "--dkim-key", writeTestFile(t, "s1.pem", pemKey), "--dkim-selector", "s1")
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	mustRunCLI(t, env, "send", "1")
	msgs := sink.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	msg := msgs[0].Data
	records := map[string]string{"s1._domainkey.example.org": txt}

	// h= names each over-signed field once more than the message holds it.
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if v, ok := records[name]; ok {
			return []string{v}, nil
		}
		return nil, fmt.Errorf("no TXT record for %s", name)
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Fatalf("the sent message does not verify: %v %+v", err, vs)
	}
	inH := map[string]int{}
	for _, k := range vs[0].HeaderKeys {
		inH[textproto.CanonicalMIMEHeaderKey(k)]++
	}
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	inMsg := map[string]int{}
	for _, l := range strings.Split(string(head), "\r\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && l[0] != ' ' && l[0] != '\t' {
			inMsg[textproto.CanonicalMIMEHeaderKey(k)]++
		}
	}
	for _, f := range []string{"From", "To", "Subject", "Reply-To", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"} {
		if inMsg[f] != 1 {
			t.Errorf("the sent message holds %s %d times, want once", f, inMsg[f])
		}
		if inH[f] != inMsg[f]+1 {
			t.Errorf("h= names %s %d times, want %d (over-signed): %v", f, inH[f], inMsg[f]+1, vs[0].HeaderKeys)
		}
	}

	after := func(field string) []byte { // right after the signature, where fields get added
		i := bytes.Index(msg, []byte("\r\n")) // the signature is the first field; skip its folded lines
		for msg[i+2] == ' ' || msg[i+2] == '\t' {
			i += 2 + bytes.Index(msg[i+2:], []byte("\r\n"))
		}
		return append(append(append([]byte{}, msg[:i+2]...), field...), msg[i+2:]...)
	}
	cases := []struct {
		name string
		msg  []byte
		pass bool
	}{
		{"as sent", msg, true},
		{"second Subject prepended", after("Subject: You won a prize\r\n"), false},
		{"second From prepended", after("From: boss@example.org\r\n"), false},
		{"second List-Unsubscribe prepended", after("List-Unsubscribe: <https://evil.example/u>\r\n"), false},
		{"Reply-To replaced", bytes.Replace(msg, []byte("Reply-To: editors@example.org"), []byte("Reply-To: thief@evil.example"), 1), false},
	}
	if !bytes.HasPrefix(msg, []byte("DKIM-Signature:")) || !bytes.Contains(msg, []byte("Reply-To: editors@example.org")) {
		t.Fatalf("the sent message does not start with its signature or lacks the list's Reply-To:\n%s", head)
	}
	dir := t.TempDir()
	rec, _ := json.Marshal(records)
	args := []string{filepath.Join("..", "..", "mailer", "testdata", "dkim_verify.py"), filepath.Join(dir, "records.json")}
	if err := os.WriteFile(args[1], rec, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		p := filepath.Join(dir, fmt.Sprintf("m%d.eml", i))
		if err := os.WriteFile(p, c.msg, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dkim_verify.py: %v\n%s", err, out)
	}
	verdicts := strings.Fields(string(out))
	if len(verdicts) != len(cases) {
		t.Fatalf("python dkim: %d verdicts for %d messages: %s", len(verdicts), len(cases), out)
	}
	for i, c := range cases {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(c.msg), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
			return []string{records[name]}, nil
		}})
		goPass := err == nil && len(vs) == 1 && vs[0].Err == nil
		if goPass != c.pass {
			t.Errorf("go-msgauth, %s: pass=%v, want %v", c.name, goPass, c.pass)
		}
		if want := map[bool]string{true: "pass", false: "fail"}[c.pass]; verdicts[i] != want {
			t.Errorf("python dkim, %s: %s, want %s", c.name, verdicts[i], want)
		}
	}
}
