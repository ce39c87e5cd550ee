package mailer

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// strictServer is a go-smtp server that behaves like Postfix where
// go-smtp is lenient: a MAIL inside an open transaction is refused with
// "503 5.5.1 nested MAIL command" instead of silently starting over. So
// a client that forgets RSET after a refused RCPT loses every following
// message of the session.
type strictServer struct {
	mu       sync.Mutex
	refuse   map[string]int // RCPT address → 451 replies still to give
	accepted map[string]int
	nested   int
	// users, when set, are offered AUTH LOGIN only (no PLAIN).
	users map[string]string
	helos map[string]int // EHLO names of the sessions that sent mail
	authd map[string]int // users who sent mail
}

func (s *strictServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &strictSession{s: s, c: c}, nil
}

type strictSession struct {
	s    *strictServer
	c    *smtp.Conn
	user string
	from string
	open bool
	to   []string
}

func (se *strictSession) AuthMechanisms() []string {
	if se.s.users == nil {
		return nil
	}
	return []string{"LOGIN"}
}

func (se *strictSession) Auth(mech string) (sasl.Server, error) {
	return &loginServer{check: func(u, p string) error {
		if pw, ok := se.s.users[u]; !ok || pw != p {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		se.user = u
		return nil
	}}, nil
}

// loginServer is the server side of AUTH LOGIN, which go-sasl no longer has.
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil { // initial response: the user name
			l.user, l.step = string(resp), 2
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

func (se *strictSession) Mail(from string, _ *smtp.MailOptions) error {
	if se.open {
		se.s.mu.Lock()
		se.s.nested++
		se.s.mu.Unlock()
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "nested MAIL command"}
	}
	se.from, se.open = from, true
	se.s.mu.Lock()
	if se.s.helos != nil {
		se.s.helos[se.c.Hostname()]++
		se.s.authd[se.user]++
	}
	se.s.mu.Unlock()
	return nil
}

func (se *strictSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	if se.s.refuse[to] > 0 {
		se.s.refuse[to]--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *strictSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	se.s.mu.Lock()
	for _, to := range se.to {
		se.s.accepted[to]++
	}
	se.s.mu.Unlock()
	return nil
}

// Reset is RSET, and go-smtp's own reset after a completed DATA.
func (se *strictSession) Reset()        { se.from, se.open, se.to = "", false, nil }
func (se *strictSession) Logout() error { return nil }

func startStrict(t *testing.T, s *strictServer) string { return startStrictTLS(t, s, nil) }

// startStrictTLS serves s, with implicit TLS (smtps) when cfg is set.
func startStrictTLS(t *testing.T, s *strictServer, cfg *tls.Config) string {
	t.Helper()
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	srv := smtp.NewServer(s)
	srv.Domain = "strict.localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestRSETAfterRefusal: after a refused RCPT the session is reset
// (RSET), so the same connection carries the following messages to a
// server that refuses nested transactions.
func TestRSETAfterRefusal(t *testing.T) {
	f := newFixture(t, 12)
	victims := map[string]int{"reader0001@example.com": 1, "reader0005@example.com": 1}
	s := &strictServer{refuse: map[string]int{}, accepted: map[string]int{}}
	for a, n := range victims {
		s.refuse[a] = n
	}
	r, err := ParseRelayURL("smtp://" + startStrict(t, s))
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(r)
	cfg.Concurrency = 1
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nested != 0 {
		t.Errorf("the server saw %d nested MAIL commands: no RSET after a refused RCPT", s.nested)
	}
	log := f.log(t)
	for _, a := range f.deliverable() {
		want := 1
		if victims[a] > 0 {
			want = 2
		}
		if d := log[a]; d.State != "sent" || d.Attempts != want || s.accepted[a] != 1 {
			t.Errorf("%s: %+v, accepted %d; want sent after %d attempts, one copy", a, d, s.accepted[a], want)
		}
	}
}

// TestSMTPSLoginAndHelo: smtps:// speaks TLS from the first byte, AUTH
// LOGIN is used when the server offers no PLAIN (the server refuses AUTH
// outside TLS), and helo= names the client in EHLO.
func TestSMTPSLoginAndHelo(t *testing.T) {
	srvTLS, roots := selfSigned(t)
	s := &strictServer{refuse: map[string]int{}, accepted: map[string]int{}, users: map[string]string{"news": "s3cret"},
		helos: map[string]int{}, authd: map[string]int{}}
	addr := startStrictTLS(t, s, srvTLS)
	r, err := ParseRelayURL("smtps://news:s3cret@" + addr + "?helo=out.example.org")
	if err != nil {
		t.Fatal(err)
	}
	r.TLSConfig = &tls.Config{RootCAs: roots}
	f := newFixture(t, 4)
	if _, err := f.engine(fastConfig(r)).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(f.deliverable())
	if s.helos["out.example.org"] != n || s.authd["news"] != n {
		t.Errorf("EHLO names %v, authenticated users %v; want out.example.org and news for all %d messages", s.helos, s.authd, n)
	}
	// A wrong password pauses the send, and is not shown.
	f2 := newFixture(t, 4)
	r.Password = "wrong-pw"
	rep, err := f2.engine(fastConfig(r)).Send(testCtx(t), f2.issueID, SendOptions{})
	if !errors.Is(err, ErrPaused) || !strings.Contains(rep.Reason, "535") || strings.Contains(rep.Reason+err.Error(), "wrong-pw") {
		t.Errorf("wrong password: %v, reason %q", err, rep.Reason)
	}
}
