package mailer

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

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
}

func (s *strictServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &strictSession{s: s}, nil }

type strictSession struct {
	s    *strictServer
	from string
	open bool
	to   []string
}

func (se *strictSession) Mail(from string, _ *smtp.MailOptions) error {
	if se.open {
		se.s.mu.Lock()
		se.s.nested++
		se.s.mu.Unlock()
		return &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "nested MAIL command"}
	}
	se.from, se.open = from, true
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
func (se *strictSession) Reset()         { se.from, se.open, se.to = "", false, nil }
func (se *strictSession) Logout() error { return nil }

func startStrict(t *testing.T, s *strictServer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(s)
	srv.Domain = "strict.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestR4RSETAfterRefusal: after a refused RCPT the session is reset
// (RSET), so the same connection carries the following messages to a
// server that refuses nested transactions.
func TestR4RSETAfterRefusal(t *testing.T) {
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
	if _, err := f.engine(cfg).Send(context.Background(), f.issueID, SendOptions{}); err != nil {
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
