package mailer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/smtpsink"
)

// lookupFor answers DNS TXT queries for one selector at example.org.
func lookupFor(selector, txt string) func(string) ([]string, error) {
	return func(domain string) ([]string, error) {
		if domain == selector+"._domainkey.example.org" {
			return []string{txt}, nil
		}
		return nil, fmt.Errorf("no TXT record for %s", domain)
	}
}

func TestDKIMSignedSendVerifies(t *testing.T) {
	for _, kind := range []string{"rsa", "ed25519"} {
		t.Run(kind, func(t *testing.T) {
			pemKey, txt, err := GenerateDKIMKey(kind)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "dkim.pem")
			if err := os.WriteFile(path, pemKey, 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := LoadDKIM(path, "s2024")
			if err != nil {
				t.Fatal(err)
			}
			f := newFixture(t, 4)
			sink := startSink(t, smtpsink.Options{})
			cfg := fastConfig(sinkRelay(t, sink))
			cfg.DKIM = k
			if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
				t.Fatal(err)
			}
			msgs := sink.Messages()
			if len(msgs) != len(f.deliverable()) {
				t.Fatalf("got %d messages", len(msgs))
			}
			for _, m := range msgs {
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: lookupFor("s2024", txt)})
				if err != nil || len(vs) != 1 || vs[0].Err != nil {
					t.Fatalf("verify %v: %v %+v", m.To, err, vs)
				}
				if vs[0].Domain != "example.org" {
					t.Errorf("d=%s", vs[0].Domain)
				}
				signed := strings.Join(vs[0].HeaderKeys, ":")
				for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Feedback-ID", "Message-ID", "From", "Subject"} {
					if !strings.Contains(signed, h) {
						t.Errorf("h= %s lacks %s", signed, h)
					}
				}
				// A changed header breaks the signature.
				bad := bytes.Replace(m.Data, []byte("Subject: "), []byte("Subject: Re: "), 1)
				vs, _ = dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: lookupFor("s2024", txt)})
				if len(vs) != 1 || vs[0].Err == nil {
					t.Errorf("tampered message still verifies")
				}
			}
		})
	}
}

func TestDKIMKeyInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	if _, err := LoadDKIM(write("k.pem", "not pem"), "s"); !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "k.pem") {
		t.Errorf("garbage key: %v", err)
	}
	if _, err := LoadDKIM(write("c.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "s"); !errors.Is(err, ErrBadKey) {
		t.Errorf("certificate: %v", err)
	}
	pemKey, _, _ := GenerateDKIMKey("ed25519")
	if _, err := LoadDKIM(write("ok.pem", string(pemKey)), ""); !errors.Is(err, ErrBadKey) {
		t.Errorf("no selector: %v", err)
	}
	if _, err := LoadDKIM(filepath.Join(dir, "missing.pem"), "s"); err == nil {
		t.Error("missing file accepted")
	}
	if _, _, err := GenerateDKIMKey("dsa"); !errors.Is(err, ErrBadKey) {
		t.Errorf("dsa: %v", err)
	}
	_, txt, _ := GenerateDKIMKey("rsa")
	line := ZoneLine("s1", "example.org", txt)
	if !strings.HasPrefix(line, "s1._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p=") {
		t.Errorf("zone line %q", line)
	}
	quoted := regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(line, -1)
	joined := ""
	for _, q := range quoted {
		if len(q[1]) > 255 {
			t.Errorf("TXT string of %d bytes", len(q[1]))
		}
		joined += q[1]
	}
	if len(quoted) < 2 || joined != txt {
		t.Errorf("zone line does not carry the record in 255-byte strings: %q", line)
	}
}
