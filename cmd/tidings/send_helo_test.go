package main

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/tidings/tidings/mailer"
)

// heloRecorder is a go-smtp server that records each session's EHLO name.
type heloRecorder struct {
	mu    sync.Mutex
	names []string
}

func (h *heloRecorder) NewSession(c *smtp.Conn) (smtp.Session, error) {
	h.mu.Lock()
	h.names = append(h.names, c.Hostname())
	h.mu.Unlock()
	return acceptAll{}, nil
}

func (h *heloRecorder) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.names...)
}

type acceptAll struct{}

func (acceptAll) Mail(string, *smtp.MailOptions) error { return nil }
func (acceptAll) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (acceptAll) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (acceptAll) Reset()        {}
func (acceptAll) Logout() error { return nil }

// The CLI says the host's fully-qualified name in EHLO, else the base
// URL's host — never a bare single-label name; helo= in the relay URL
// overrides both.
func TestSendHeloName(t *testing.T) {
	rec := &heloRecorder{}
	srv := smtp.NewServer(rec)
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	env := testEnv(t)
	seedSample(t, env)
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	env["TIDINGS_SMTP_URL"] = "smtp://" + ln.Addr().String()
	mustRunCLI(t, env, "send", "1", "--test-to", "editor@example.net")
	env["TIDINGS_SMTP_URL"] = "smtp://" + ln.Addr().String() + "?helo=mail.example.org"
	mustRunCLI(t, env, "send", "1", "--test-to", "editor@example.net")

	names := rec.got()
	if len(names) != 2 {
		t.Fatalf("sessions: %v", names)
	}
	want := mailer.DefaultHelo("news.example.org") // this host's FQDN, or the base URL's host
	if names[0] != want || !strings.Contains(names[0], ".") || strings.HasPrefix(names[0], "[") {
		t.Errorf("default EHLO %q, want %q (a fully-qualified name)", names[0], want)
	}
	if names[1] != "mail.example.org" {
		t.Errorf("EHLO with helo= %q", names[1])
	}
	t.Logf("default EHLO on this host: %s", names[0])
}
