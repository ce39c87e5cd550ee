package inbound

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Mailbox is a POP3 mailbox that bounces are delivered to.
type Mailbox struct {
	TLS      bool   // pop3s: implicit TLS
	Host     string // host:port
	User     string
	Pass     string
	Insecure bool        // ?tls=none: allow a password without TLS to a non-loopback host
	TLSConf  *tls.Config // nil: system roots, server name from Host
}

// ParseMailbox reads pop3s://user:pass@host[:995] or
// pop3://user:pass@host[:110] (STARTTLS when the server offers it; a
// password in clear only to a loopback host, or with ?tls=none).
func ParseMailbox(s string) (Mailbox, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return Mailbox{}, fmt.Errorf("bounce mailbox: %v", err)
	}
	var mb Mailbox
	port := ""
	switch strings.ToLower(u.Scheme) {
	case "pop3s":
		mb.TLS, port = true, "995"
	case "pop3":
		port = "110"
	default:
		return Mailbox{}, fmt.Errorf("bounce mailbox %s: want pop3s://user:pass@host[:port] or pop3://…", redact(u))
	}
	if u.Hostname() == "" {
		return Mailbox{}, fmt.Errorf("bounce mailbox %s: no host", redact(u))
	}
	if u.Port() != "" {
		port = u.Port()
	}
	mb.Host = net.JoinHostPort(u.Hostname(), port)
	if u.User == nil || u.User.Username() == "" {
		return Mailbox{}, fmt.Errorf("bounce mailbox %s: no user name", redact(u))
	}
	mb.User = u.User.Username()
	mb.Pass, _ = u.User.Password()
	switch v := u.Query().Get("tls"); v {
	case "", "required":
	case "none":
		mb.Insecure = true
	default:
		return Mailbox{}, fmt.Errorf("bounce mailbox %s: tls=%q: want required or none", redact(u), v)
	}
	return mb, nil
}

func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

// String is the mailbox without its password, for logs.
func (mb Mailbox) String() string {
	scheme := "pop3"
	if mb.TLS {
		scheme = "pop3s"
	}
	return scheme + "://" + url.User(mb.User).String() + "@" + mb.Host
}

var (
	// ErrPOP3 is a -ERR answer of the POP3 server.
	ErrPOP3 = errors.New("pop3 server refused")
	// errTooLarge: a message over the size limit was read to its end and
	// dropped; the session stays usable.
	errTooLarge = errors.New("message too large")
)

// pop3Conn is a small POP3 client (RFC 1939, STLS from RFC 2595): just
// what polling a bounce mailbox needs.
type pop3Conn struct {
	c       net.Conn
	r       *bufio.Reader
	timeout time.Duration
	maxSize int
}

func isLoopback(hostport string) bool {
	h, _, _ := net.SplitHostPort(hostport)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func dialPOP3(ctx context.Context, mb Mailbox, timeout time.Duration, maxSize int) (*pop3Conn, error) {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", mb.Host)
	if err != nil {
		return nil, fmt.Errorf("pop3 %s: %w", mb.Host, err)
	}
	tconf := func() *tls.Config {
		if mb.TLSConf != nil {
			return mb.TLSConf.Clone()
		}
		h, _, _ := net.SplitHostPort(mb.Host)
		return &tls.Config{ServerName: h, MinVersion: tls.VersionTLS12}
	}
	var c net.Conn = raw
	if mb.TLS {
		tc := tls.Client(raw, tconf())
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("pop3 %s: tls: %w", mb.Host, err)
		}
		c = tc
	}
	pc := &pop3Conn{c: c, r: bufio.NewReader(c), timeout: timeout, maxSize: maxSize}
	if _, err := pc.reply(); err != nil {
		c.Close()
		return nil, fmt.Errorf("pop3 %s: greeting: %w", mb.Host, err)
	}
	if !mb.TLS {
		caps, _ := pc.capa()
		switch {
		case caps["STLS"]:
			if _, err := pc.cmd("STLS"); err != nil {
				c.Close()
				return nil, fmt.Errorf("pop3 %s: STLS: %w", mb.Host, err)
			}
			tc := tls.Client(c, tconf())
			tc.SetDeadline(time.Now().Add(timeout))
			if err := tc.HandshakeContext(ctx); err != nil {
				c.Close()
				return nil, fmt.Errorf("pop3 %s: tls: %w", mb.Host, err)
			}
			pc.c, pc.r = tc, bufio.NewReader(tc)
		case !isLoopback(mb.Host) && !mb.Insecure:
			c.Close()
			return nil, fmt.Errorf("pop3 %s: the server offers no STLS; refusing to send the password in clear (use pop3s://, or ?tls=none)", mb.Host)
		}
	}
	if _, err := pc.cmd("USER " + mb.User); err != nil {
		pc.c.Close()
		return nil, fmt.Errorf("pop3 %s: USER: %w", mb.Host, err)
	}
	if _, err := pc.cmd("PASS " + mb.Pass); err != nil {
		pc.c.Close()
		return nil, fmt.Errorf("pop3 %s: login as %s: %w", mb.Host, mb.User, err)
	}
	return pc, nil
}

func (pc *pop3Conn) Close() error { return pc.c.Close() }

// reply reads one status line: the text after +OK, or ErrPOP3.
func (pc *pop3Conn) reply() (string, error) {
	pc.c.SetDeadline(time.Now().Add(pc.timeout))
	line, err := pc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if rest, ok := strings.CutPrefix(line, "+OK"); ok {
		return strings.TrimSpace(rest), nil
	}
	return "", fmt.Errorf("%w: %s", ErrPOP3, line)
}

func (pc *pop3Conn) cmd(line string) (string, error) {
	pc.c.SetDeadline(time.Now().Add(pc.timeout))
	if _, err := pc.c.Write([]byte(line + "\r\n")); err != nil {
		return "", err
	}
	return pc.reply()
}

// multiline reads a dot-terminated body, undoing dot-stuffing, with CRLF
// line ends kept as they are on the wire. Past maxSize it keeps reading to
// the end, so the session stays in step, and returns errTooLarge.
func (pc *pop3Conn) multiline() ([]byte, error) {
	var b bytes.Buffer
	over, midLine := false, false
	for {
		pc.c.SetDeadline(time.Now().Add(pc.timeout))
		chunk, err := pc.r.ReadSlice('\n')
		whole := err == nil
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		if !midLine {
			if whole && (bytes.Equal(chunk, []byte(".\r\n")) || bytes.Equal(chunk, []byte(".\n"))) {
				if over {
					return nil, errTooLarge
				}
				return b.Bytes(), nil
			}
			if chunk[0] == '.' {
				chunk = chunk[1:]
			}
		}
		midLine = !whole // a line longer than the buffer comes in chunks
		if over || pc.maxSize > 0 && b.Len()+len(chunk) > pc.maxSize {
			over = true
			b.Reset()
			continue
		}
		b.Write(chunk)
	}
}

func (pc *pop3Conn) capa() (map[string]bool, error) {
	if _, err := pc.cmd("CAPA"); err != nil {
		return map[string]bool{}, err
	}
	body, err := pc.multiline()
	if err != nil {
		return nil, err
	}
	caps := map[string]bool{}
	for _, l := range strings.Split(string(body), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			caps[strings.ToUpper(f[0])] = true
		}
	}
	return caps, nil
}

// stat is the number of messages in the mailbox.
func (pc *pop3Conn) stat() (int, error) {
	s, err := pc.cmd("STAT")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(s)
	if len(f) < 1 {
		return 0, fmt.Errorf("pop3: bad STAT answer %q", s)
	}
	return strconv.Atoi(f[0])
}

// uidl maps message numbers to unique ids; nil when the server has none.
func (pc *pop3Conn) uidl() (map[int]string, error) {
	if _, err := pc.cmd("UIDL"); err != nil {
		if errors.Is(err, ErrPOP3) {
			return nil, nil
		}
		return nil, err
	}
	body, err := pc.multiline()
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, l := range strings.Split(string(body), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			out[n] = f[1]
		}
	}
	return out, nil
}

func (pc *pop3Conn) retr(n int) ([]byte, error) {
	if _, err := pc.cmd("RETR " + strconv.Itoa(n)); err != nil {
		return nil, err
	}
	return pc.multiline()
}

func (pc *pop3Conn) dele(n int) error {
	_, err := pc.cmd("DELE " + strconv.Itoa(n))
	return err
}

// quit ends the session; only now does the server remove the messages
// marked with DELE (RFC 1939 UPDATE state).
func (pc *pop3Conn) quit() error {
	_, err := pc.cmd("QUIT")
	pc.c.Close()
	return err
}

// PollerConfig configures the mailbox poller.
type PollerConfig struct {
	Processor       *Processor
	Mailbox         Mailbox
	Interval        time.Duration // default 1 minute
	Timeout         time.Duration // per POP3 command; default 60 s
	MaxMessageBytes int           // default 10 MiB
	Logger          *slog.Logger
}

// Poller fetches a POP3 mailbox on an interval and processes each message
// as if it had arrived over SMTP, deleting it only once its effect is
// committed.
type Poller struct {
	cfg     PollerConfig
	foreign map[string]bool // UIDLs of messages for no list address: left alone, not fetched again

	// afterCommit, when set (tests), runs after message i is processed and
	// before its DELE; an error ends the poll there, like a crash.
	afterCommit func(i int) error
}

// NewPoller checks cfg and fills its defaults.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.Processor == nil {
		return nil, fmt.Errorf("inbound pop3: Processor is required")
	}
	if cfg.Mailbox.Host == "" {
		return nil, fmt.Errorf("inbound pop3: no mailbox")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 10 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = cfg.Processor.cfg.Logger
	}
	return &Poller{cfg: cfg, foreign: map[string]bool{}}, nil
}

// PollStats counts what one poll did.
type PollStats struct {
	Messages   int // in the mailbox
	Processed  int // with an effect or deliberately ignored
	Duplicates int // processed before (a crash before DELE): only deleted now
	Deleted    int
	Foreign    int // for none of the lists' addresses: left in the mailbox
	Failed     int // left for the next poll
}

// Run polls until ctx is cancelled; a failed poll is logged and retried
// at the next tick.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		st, err := p.Poll(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "bounce mailbox poll failed",
				slog.String("mailbox", p.cfg.Mailbox.String()), slog.String("error", err.Error()))
		case st.Messages > 0:
			p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "bounce mailbox polled", slog.String("mailbox", p.cfg.Mailbox.String()),
				slog.Int("messages", st.Messages), slog.Int("processed", st.Processed), slog.Int("duplicates", st.Duplicates),
				slog.Int("deleted", st.Deleted), slog.Int("foreign", st.Foreign), slog.Int("failed", st.Failed))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Poll fetches the mailbox once.
func (p *Poller) Poll(ctx context.Context) (PollStats, error) {
	var st PollStats
	mb := p.cfg.Mailbox
	pc, err := dialPOP3(ctx, mb, p.cfg.Timeout, p.cfg.MaxMessageBytes)
	if err != nil {
		return st, err
	}
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	defer pc.Close()
	uids, err := pc.uidl()
	if err != nil {
		return st, fmt.Errorf("pop3 %s: UIDL: %w", mb.Host, err)
	}
	n, err := pc.stat()
	if err != nil {
		return st, fmt.Errorf("pop3 %s: STAT: %w", mb.Host, err)
	}
	st.Messages = n
	// Forget foreign messages that left the mailbox.
	still := map[string]bool{}
	defer func() { p.foreign = still }()
	for i := 1; i <= n; i++ {
		uid := uids[i]
		if uid != "" && p.foreign[uid] {
			still[uid] = true
			st.Foreign++
			continue
		}
		raw, err := pc.retr(i)
		if errors.Is(err, errTooLarge) {
			// Not a bounce we could use; left for a person to look at.
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "bounce mailbox message too large, left in the mailbox",
				slog.Int("message", i), slog.String("uidl", uid), slog.Int("limit", p.cfg.MaxMessageBytes))
			if uid != "" {
				still[uid] = true
			}
			st.Foreign++
			continue
		}
		if err != nil {
			return st, fmt.Errorf("pop3 %s: RETR %d: %w", mb.Host, i, err)
		}
		env := Envelope{Source: "pop3"}
		env.From, env.NullSender, _ = returnPath(raw)
		if uid != "" {
			env.Key = "pop3:" + strings.ToLower(mb.User+"@"+mb.Host) + ":" + uid
		}
		res, err := p.cfg.Processor.ProcessEnvelope(ctx, env, raw)
		switch {
		case errors.Is(err, ErrNoRecipient):
			// Not ours (a mailbox shared with people, or spam): leave it.
			if uid != "" {
				still[uid] = true
			}
			st.Foreign++
			continue
		case err != nil:
			if ctx.Err() != nil {
				return st, ctx.Err()
			}
			st.Failed++
			p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "bounce mailbox message failed",
				slog.Int("message", i), slog.String("uidl", uid), slog.String("error", err.Error()))
			continue
		case res.Action == ActionDuplicate:
			st.Duplicates++
		default:
			st.Processed++
		}
		if p.afterCommit != nil {
			if err := p.afterCommit(i); err != nil {
				return st, err
			}
		}
		if err := pc.dele(i); err != nil {
			return st, fmt.Errorf("pop3 %s: DELE %d: %w", mb.Host, i, err)
		}
		st.Deleted++
	}
	if err := pc.quit(); err != nil {
		return st, fmt.Errorf("pop3 %s: QUIT: %w", mb.Host, err)
	}
	return st, nil
}
