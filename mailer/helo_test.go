package mailer

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// The EHLO name is the host's FQDN however the host is set up (a dotted
// host name, a DNS canonical name, /etc/hosts), else the base URL's host,
// else nothing (the connection's address literal): never a bare label.
func TestDefaultHeloName(t *testing.T) {
	notFound := errors.New("not found")
	none := func(string) ([]string, error) { return nil, notFound }
	cases := []struct {
		name     string
		host     string
		cname    string
		hosts    map[string][]string // host → addresses
		ptr      map[string][]string // address → names
		baseHost string
		want     string
	}{
		{name: "dotted host name", host: "mail.example.org", want: "mail.example.org"},
		{name: "dotted, trailing dot and case", host: "Mail.Example.org.", want: "mail.example.org"},
		{name: "canonical name", host: "vm", cname: "vm.corp.example.net.", want: "vm.corp.example.net"},
		{name: "/etc/hosts", host: "vm", cname: "vm", hosts: map[string][]string{"vm": {"127.0.1.1"}},
			ptr: map[string][]string{"127.0.1.1": {"vm", "vm.lan.example.com."}}, want: "vm.lan.example.com"},
		{name: "only localhost names", host: "vm", hosts: map[string][]string{"vm": {"127.0.0.1"}},
			ptr: map[string][]string{"127.0.0.1": {"localhost", "localhost.localdomain"}}, baseHost: "news.example.org", want: "news.example.org"},
		{name: "base URL host", host: "vm", baseHost: "news.example.org", want: "news.example.org"},
		{name: "base URL is an address", host: "vm", baseHost: "192.0.2.7", want: ""},
		{name: "base URL single label", host: "vm", baseHost: "localhost", want: ""},
		{name: "nothing", host: "vm", want: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := heloLookups{
				hostname: func() (string, error) { return c.host, nil },
				lookupCNAME: func(h string) (string, error) {
					if c.cname == "" {
						return "", notFound
					}
					return c.cname, nil
				},
				lookupHost: func(h string) ([]string, error) {
					if a, ok := c.hosts[h]; ok {
						return a, nil
					}
					return none(h)
				},
				lookupAddr: func(a string) ([]string, error) {
					if n, ok := c.ptr[a]; ok {
						return n, nil
					}
					return none(a)
				},
			}
			if got := defaultHelo(l.fqdn(), c.baseHost); got != c.want {
				t.Errorf("HELO %q, want %q", got, c.want)
			}
		})
	}
	if got := addressLiteral(&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 4000}); got != "[192.0.2.1]" {
		t.Errorf("IPv4 literal %q", got)
	}
	if got := addressLiteral(&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 4000}); got != "[IPv6:2001:db8::1]" {
		t.Errorf("IPv6 literal %q", got)
	}
}

// heloServer is a go-smtp server that records the EHLO name of each session.
type heloServer struct {
	mu    sync.Mutex
	names []string
}

func (h *heloServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	h.mu.Lock()
	h.names = append(h.names, c.Hostname())
	h.mu.Unlock()
	return heloSession{}, nil
}

type heloSession struct{}

func (heloSession) Mail(string, *smtp.MailOptions) error { return nil }
func (heloSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (heloSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (heloSession) Reset()        {}
func (heloSession) Logout() error { return nil }

// What a relay hears: helo= when the URL says, else a fully-qualified
// name or an address literal.
func TestRelayHearsTheHeloName(t *testing.T) {
	be := &heloServer{}
	srv := smtp.NewServer(be)
	srv.Domain = "relay.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	msg := []byte("From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\n\r\nhi\r\n")
	for _, u := range []string{"smtp://" + ln.Addr().String() + "?helo=mail.example.org", "smtp://" + ln.Addr().String()} {
		r, err := ParseRelayURL(u)
		if err != nil {
			t.Fatal(err)
		}
		if err := NewOneOff([]Relay{r}, OneOffOptions{}).SendMail(context.Background(), "a@example.org", []string{"b@example.com"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.names) != 2 {
		t.Fatalf("sessions %v", be.names)
	}
	if be.names[0] != "mail.example.org" {
		t.Errorf("helo= gave %q", be.names[0])
	}
	def := be.names[1]
	if !(strings.Contains(def, ".") && !strings.HasPrefix(def, "[")) && !strings.HasPrefix(def, "[127.0.0.1]") {
		t.Errorf("default HELO %q is neither a dotted name nor the address literal", def)
	}
	if want := DefaultHelo(""); want != "" && def != want {
		t.Errorf("default HELO %q, want the FQDN %q", def, want)
	}
	t.Logf("this host's default HELO: %q", def)
}
