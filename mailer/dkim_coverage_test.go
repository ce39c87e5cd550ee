package mailer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/internal/testpeers"
)

// testKey makes a key of kind with its TXT record.
func testKey(t *testing.T, kind, selector string) (*DKIM, string) {
	t.Helper()
	pemKey, txt, err := GenerateDKIMKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ListDKIM(selector, string(pemKey))
	if err != nil {
		t.Fatal(err)
	}
	return k, txt
}

// crlf reads a testdata message with CRLF line ends whatever git did.
func crlf(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// goVerify is go-msgauth's verdict: nil when the one signature verifies.
func goVerify(msg []byte, records map[string]string) error {
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if v, ok := records[name]; ok {
				return []string{v}, nil
			}
			return nil, fmt.Errorf("no TXT record for %s", name)
		},
	})
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return fmt.Errorf("%d signatures", len(vs))
	}
	return vs[0].Err
}

// pyVerify is Python dkim's (dkimpy) verdict on each message: "pass" or
// "fail". Debian's python3-dkim lives in /usr/lib/python3/dist-packages,
// so it is /usr/bin/python3 that has it.
func pyVerify(t *testing.T, records map[string]string, msgs [][]byte) []string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import dkim, nacl").Run(); err != nil {
		testpeers.Need(t, "python3-dkim", "install Debian packages python3-dkim python3-nacl")
	}
	dir := t.TempDir()
	rec, _ := json.Marshal(records)
	args := []string{filepath.Join("testdata", "dkim_verify.py"), filepath.Join(dir, "records.json")}
	if err := os.WriteFile(args[1], rec, 0o600); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		p := filepath.Join(dir, fmt.Sprintf("m%d.eml", i))
		if err := os.WriteFile(p, m, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dkim_verify.py: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// The signature covers Reply-To and over-signs the fields a reader sees
// or a mailbox provider acts on (RFC 6376 §8.15): a copy with a second
// Subject or List-Unsubscribe prepended, or Reply-To replaced or added,
// fails under go-msgauth and under Python's dkim alike.
func TestDKIMOverSigningResistsAddedHeaders(t *testing.T) {
	withReplyTo := crlf(t, "replyto.eml")
	withoutReplyTo := bytes.Replace(withReplyTo, []byte("Reply-To: editors@example.org\r\n"), nil, 1)
	for _, kind := range []string{"rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			k, txt := testKey(t, kind, "s1")
			records := map[string]string{"s1._domainkey.example.org": txt}
			sign := func(msg []byte) []byte {
				var b bytes.Buffer
				if err := k.sign(&b, msg, "example.org"); err != nil {
					t.Fatal(err)
				}
				return b.Bytes()
			}
			signed, signedNoRT := sign(withReplyTo), sign(withoutReplyTo)
			// The signature is the first field: "prepended" goes right after it,
			// where a relay or an attacker adds fields.
			after := func(m []byte, field string) []byte {
				i := bytes.Index(m, []byte("\r\nFrom: "))
				return append(append(append([]byte{}, m[:i+2]...), field...), m[i+2:]...)
			}
			cases := []struct {
				name string
				msg  []byte
				pass bool
			}{
				{"as signed", signed, true},
				{"as signed, no Reply-To", signedNoRT, true},
				{"second Subject prepended", after(signed, "Subject: You won a prize\r\n"), false},
				{"second List-Unsubscribe prepended", after(signed, "List-Unsubscribe: <https://evil.example/u>\r\n"), false},
				{"second From prepended", after(signed, "From: boss@example.org\r\n"), false},
				{"second List-Id prepended", after(signed, "List-Id: <other.example.net>\r\n"), false},
				{"Reply-To replaced", bytes.Replace(signed, []byte("Reply-To: editors@example.org"), []byte("Reply-To: thief@evil.example"), 1), false},
				{"Reply-To added", after(signedNoRT, "Reply-To: thief@evil.example\r\n"), false},
				{"List-Unsubscribe-Post added", after(signedNoRT, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), false},
				{"To prepended", after(signed, "To: everyone@example.com\r\n"), false},
			}
			var msgs [][]byte
			for _, c := range cases {
				msgs = append(msgs, c.msg)
				err := goVerify(c.msg, records)
				if (err == nil) != c.pass {
					t.Errorf("go-msgauth, %s: verify error %v, want pass=%v", c.name, err, c.pass)
				}
			}
			py := pyVerify(t, records, msgs)
			if len(py) != len(cases) {
				t.Fatalf("python dkim: %d verdicts for %d messages: %v", len(py), len(cases), py)
			}
			for i, c := range cases {
				want := map[bool]string{true: "pass", false: "fail"}[c.pass]
				if py[i] != want {
					t.Errorf("python dkim, %s: %s, want %s", c.name, py[i], want)
				}
			}
		})
	}
}

// h= lists each over-signed field once more than it occurs, the others
// as often as they occur (at least once).
func TestDKIMHeaderList(t *testing.T) {
	msg := crlf(t, "replyto.eml")
	got := strings.Join(headerKeys(msg), ":")
	want := "From:From:To:To:Subject:Subject:Reply-To:Reply-To:Date:Message-ID:List-Id:List-Id:" +
		"List-Unsubscribe:List-Unsubscribe:List-Unsubscribe-Post:List-Unsubscribe-Post:Feedback-ID:MIME-Version:Content-Type"
	if got != want {
		t.Errorf("h=\n%s\nwant\n%s", got, want)
	}
	// A folded field counts once; a field that occurs twice is listed three times.
	two := bytes.Replace(msg, []byte("Subject: "), []byte("Subject: a\r\n b\r\nSubject: "), 1)
	if n := strings.Count(strings.Join(headerKeys(two), ":"), "Subject"); n != 3 {
		t.Errorf("two Subject fields listed %d times, want 3", n)
	}
	// The body is not the header: a "From:" line in it changes nothing.
	body := append(append([]byte{}, msg...), "From: someone in the body\r\n"...)
	if strings.Join(headerKeys(body), ":") != want {
		t.Error("a From: line in the body changed h=")
	}
}
