package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/net/netutil"
)

// ServerConfig configures the inbound SMTP listener.
type ServerConfig struct {
	Processor *Processor
	Domain    string // host name in the greeting; default "localhost"
	// Limits. A DSN carries the bounced message, so the size limit is
	// generous; nobody legitimately sends one message to many list
	// addresses at once.
	MaxMessageBytes int64 // default 10 MiB
	MaxRecipients   int   // default 10
	MaxConns        int   // concurrent connections; default 20
	// ReadTimeout bounds the wait for each command and, as go-smtp arms
	// it when it reads the DATA line, the whole message transfer.
	ReadTimeout  time.Duration // default 60 s
	WriteTimeout time.Duration // default 60 s
	// MaxSession ends a connection however busy it keeps itself (a NOOP
	// every minute would otherwise hold one of MaxConns forever).
	MaxSession time.Duration // default 10 minutes
	TLS        *tls.Config   // when set, STARTTLS is offered
	Logger     *slog.Logger
}

// Server is the inbound SMTP listener. It accepts mail only for the lists'
// own addresses: every other recipient is refused at RCPT with 550, so it
// can never be abused as an open relay.
type Server struct {
	cfg ServerConfig
	srv *smtp.Server
	ctx context.Context // cancelled when Serve returns
}

// NewServer checks cfg and fills its defaults.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Processor == nil {
		return nil, fmt.Errorf("inbound smtp: Processor is required")
	}
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 10 << 20
	}
	if cfg.MaxRecipients <= 0 {
		cfg.MaxRecipients = 10
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 20
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = time.Minute
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Minute
	}
	if cfg.MaxSession <= 0 {
		cfg.MaxSession = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.Processor.cfg.Logger
	}
	s := &Server{cfg: cfg, ctx: context.Background()}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Domain
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.ReadTimeout = cfg.ReadTimeout
	srv.WriteTimeout = cfg.WriteTimeout
	srv.TLSConfig = cfg.TLS
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = log.New(slogWriter{cfg.Logger}, "", 0)
	s.srv = srv
	return s, nil
}

// LoadTLS reads a certificate and key for STARTTLS.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load smtp certificate %s: %w", certFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Serve accepts connections on ln until ctx is cancelled (then open
// sessions are dropped) or Shutdown is called. At most MaxConns connections
// are served at once; further ones wait in the kernel's backlog.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.ctx = ctx
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			s.srv.Close()
		case <-done:
		}
	}()
	err := s.srv.Serve(sessionLimit{netutil.LimitListener(ln, s.cfg.MaxConns), s.cfg.MaxSession})
	if ctx.Err() != nil || errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inbound smtp: %w", err)
	}
	return nil
}

// Shutdown stops accepting and waits for open sessions until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server and drops open sessions.
func (s *Server) Close() error {
	err := s.srv.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

func smtpErr(code int, enh smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, remote: c.Conn().RemoteAddr().String()}, nil
}

type session struct {
	s      *Server
	remote string
	from   string
	rcpts  []string
}

func (se *session) Reset()        { se.from, se.rcpts = "", nil }
func (se *session) Logout() error { return nil }

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	se.from, se.rcpts = from, nil
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx := se.s.ctx
	if _, err := se.s.cfg.Processor.resolve(ctx, to); err != nil {
		if errors.Is(err, ErrNotOurs) {
			se.s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "inbound recipient refused",
				slog.String("rcpt", to), slog.String("from", se.from), slog.String("remote", se.remote))
			return smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "<"+to+">: relay access denied, this server accepts mail only for its lists")
		}
		return smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "temporary failure, try again later")
	}
	se.rcpts = append(se.rcpts, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // go-smtp's own "too large" reply, or a broken connection
	}
	ctx := se.s.ctx
	for _, rcpt := range se.rcpts {
		env := Envelope{Rcpt: rcpt, From: se.from, NullSender: se.from == "", Source: "smtp"}
		if _, err := se.s.cfg.Processor.ProcessEnvelope(ctx, env, raw); err != nil {
			// Effects of earlier recipients are committed with their
			// seen-keys, so the client's retry of all of them is safe.
			se.s.cfg.Logger.LogAttrs(ctx, slog.LevelError, "inbound message failed",
				slog.String("rcpt", rcpt), slog.String("error", err.Error()))
			return smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "temporary failure, try again later")
		}
	}
	return nil
}

// sessionLimit closes every accepted connection MaxSession after it was
// accepted; closing it also frees its place under LimitListener.
type sessionLimit struct {
	net.Listener
	max time.Duration
}

func (l sessionLimit) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &sessionConn{Conn: c}
	sc.timer = time.AfterFunc(l.max, func() { c.Close() })
	return sc, nil
}

type sessionConn struct {
	net.Conn
	timer *time.Timer
}

func (c *sessionConn) Close() error {
	c.timer.Stop()
	return c.Conn.Close()
}

// slogWriter sends go-smtp's own error log (broken connections, timeouts)
// to slog at debug level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.l.Debug("inbound smtp", "msg", string(b))
	return len(b), nil
}
