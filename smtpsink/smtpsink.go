// Package smtpsink is a small SMTP server that keeps what it receives.
//
// It is the mailbox of `tidings demo` (mail never leaves the machine) and
// the real SMTP peer of the tests: hooks let a test answer any reply code,
// stall, or drop the connection in the middle of DATA, so every failure path
// of the delivery engine runs against a real SMTP conversation.
package smtpsink

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one accepted message.
type Message struct {
	Seq      int // 1-based arrival order
	From     string
	To       []string
	Data     []byte
	Received time.Time
	User     string // authenticated user, if any
}

// ErrDrop, returned by a hook, makes the server close the connection at
// once without a reply (a crash or network failure, from the client's view).
var ErrDrop = errors.New("smtpsink: drop connection")

// Reply builds an SMTP error reply, e.g. Reply(451, "4.7.0", "Throttling failure").
func Reply(code int, enhanced string, msg string) error {
	e := &smtp.SMTPError{Code: code, Message: msg}
	if enhanced != "" {
		var a, b, c int
		fmt.Sscanf(enhanced, "%d.%d.%d", &a, &b, &c)
		e.EnhancedCode = smtp.EnhancedCode{a, b, c}
	} else {
		e.EnhancedCode = smtp.NoEnhancedCode
	}
	return e
}

// Options configure a sink. Every hook may be nil (accept).
type Options struct {
	Addr     string            // default 127.0.0.1:0
	Domain   string            // greeting name; default "sink.localhost"
	Users    map[string]string // when set, AUTH PLAIN is offered and required
	TLS      *tls.Config       // when set, STARTTLS is offered
	Discard  bool              // count messages but keep no data (benchmarks)
	MaxBytes int64             // message size limit; 0 = 32 MiB

	// OnConnect runs when a client connects; an error refuses the session
	// (e.g. Reply(421, …) for "service not available").
	OnConnect func() error
	OnMail    func(from string) error
	OnRcpt    func(from, to string) error
	// OnData sees the whole message before it is accepted; ErrDrop closes
	// the connection mid-DATA, a sleep stalls the reply.
	OnData func(from string, to []string, data []byte) error
	// Logger receives go-smtp's own error log; default discards it.
	Logger *log.Logger
}

// Server is a running sink.
type Server struct {
	Addr string // host:port it listens on

	opts Options
	srv  *smtp.Server
	ln   net.Listener

	mu       sync.Mutex
	msgs     []Message
	count    int
	notify   chan struct{}
	sessions int
}

// Start listens and serves in the background until Close.
func Start(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Domain == "" {
		opts.Domain = "sink.localhost"
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 32 << 20
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("smtpsink listen %s: %w", opts.Addr, err)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln, notify: make(chan struct{})}
	srv := smtp.NewServer(&backend{s})
	srv.Domain = opts.Domain
	srv.MaxMessageBytes = opts.MaxBytes
	srv.MaxRecipients = 1000
	srv.AllowInsecureAuth = true
	srv.TLSConfig = opts.TLS
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.EnableSMTPUTF8 = true
	if opts.Logger != nil {
		srv.ErrorLog = opts.Logger
	} else {
		srv.ErrorLog = log.New(io.Discard, "", 0)
	}
	s.srv = srv
	go srv.Serve(ln)
	return s, nil
}

// Close stops the server and drops open connections.
func (s *Server) Close() error { return s.srv.Close() }

// Messages returns a copy of what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is the number of messages accepted (also when Discard is set).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Reset forgets the messages received so far.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.count = 0
}

// Sessions is the number of SMTP sessions (connections) opened so far.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// Wait blocks until at least n messages arrived or the timeout passed, and
// reports whether they did.
func (s *Server) Wait(n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		c, ch := s.count, s.notify
		s.mu.Unlock()
		if c >= n {
			return true
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	m.Seq = s.count
	if !s.opts.Discard {
		s.msgs = append(s.msgs, m)
	}
	close(s.notify)
	s.notify = make(chan struct{})
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.s.mu.Lock()
	b.s.sessions++
	b.s.mu.Unlock()
	if h := b.s.opts.OnConnect; h != nil {
		if err := h(); err != nil {
			return nil, err
		}
	}
	return &session{s: b.s, conn: c}, nil
}

type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (se *session) hook(err error) error {
	if errors.Is(err, ErrDrop) {
		se.conn.Conn().Close()
	}
	return err
}

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if p, ok := se.s.opts.Users[user]; ok && p == pass {
			se.user = user
			return nil
		}
		return Reply(535, "5.7.8", "authentication failed")
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Users != nil && se.user == "" {
		return Reply(530, "5.7.0", "authentication required")
	}
	if h := se.s.opts.OnMail; h != nil {
		if err := h(from); err != nil {
			return se.hook(err)
		}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if h := se.s.opts.OnRcpt; h != nil {
		if err := h(se.from, to); err != nil {
			return se.hook(err)
		}
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return err
	}
	if h := se.s.opts.OnData; h != nil {
		if err := h(se.from, se.to, buf.Bytes()); err != nil {
			return se.hook(err)
		}
	}
	m := Message{From: se.from, To: se.to, Received: time.Now(), User: se.user}
	if !se.s.opts.Discard {
		m.Data = buf.Bytes()
	}
	se.s.add(m)
	return nil
}

func (se *session) Reset() { se.from, se.to = "", nil }

func (se *session) Logout() error { return nil }
