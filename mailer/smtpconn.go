package mailer

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// Timeouts bound each step of an SMTP conversation, so a stalled server
// costs one timeout, never a hung worker.
type Timeouts struct {
	Dial    time.Duration // TCP connect and TLS handshake; default 15 s
	Command time.Duration // each command's reply; default 60 s
	Data    time.Duration // sending the message and its final reply; default 5 min
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Dial <= 0 {
		t.Dial = 15 * time.Second
	}
	if t.Command <= 0 {
		t.Command = time.Minute
	}
	if t.Data <= 0 {
		t.Data = 5 * time.Minute
	}
	return t
}

// Stages of an SMTP conversation; classification depends on where a reply came.
const (
	stageConnect  = "connect"
	stageGreeting = "greeting"
	stageHello    = "ehlo"
	stageTLS      = "starttls"
	stageImplicit = "tls handshake" // smtps://: TLS before the greeting
	stageAuth     = "auth"
	stageMail     = "mail"
	stageRcpt     = "rcpt"
	stageData     = "data"
	stageReset    = "rset"
)

// smtpError is a failure at one stage of the conversation with a relay.
type smtpError struct {
	Stage string
	Err   error
}

func (e *smtpError) Error() string { return e.Stage + ": " + e.Err.Error() }
func (e *smtpError) Unwrap() error { return e.Err }

func stageErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &smtpError{Stage: stage, Err: err}
}

// conn is one open SMTP session with a relay.
type conn struct {
	relay Relay
	c     *smtp.Client
	t     Timeouts
	tls   bool
	msgs  int // messages sent on this session
}

func (r Relay) tlsConfig() *tls.Config {
	if r.TLSConfig != nil {
		c := r.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = r.Host
		}
		return c
	}
	return &tls.Config{ServerName: r.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: r.InsecureSkipVerify} //nolint:gosec // opt-in per relay URL
}

// dialRelay opens a session: connect, greeting, EHLO, STARTTLS, AUTH.
// Every failure comes back as an *smtpError naming its stage.
func dialRelay(ctx context.Context, r Relay, t Timeouts) (*conn, error) {
	t = t.withDefaults()
	d := net.Dialer{Timeout: t.Dial}
	nc, err := d.DialContext(ctx, "tcp", r.Addr())
	if err != nil {
		return nil, stageErr(stageConnect, err)
	}
	isTLS := false
	if r.TLS == TLSImplicit {
		tc := tls.Client(nc, r.tlsConfig())
		hctx, cancel := context.WithTimeout(ctx, t.Dial)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, stageErr(stageImplicit, err)
		}
		nc, isTLS = tc, true
	}
	nc.SetDeadline(time.Now().Add(t.Command))
	c, err := smtp.NewClient(nc, r.Host)
	if err != nil {
		nc.Close()
		return nil, stageErr(stageGreeting, err)
	}
	cn := &conn{relay: r, c: c, t: t, tls: isTLS}
	fail := func(stage string, err error) (*conn, error) {
		// go-mail v0.8.1 leaks the connection when STARTTLS or AUTH
		// fails (REFERENCE.md): close it here on every path.
		c.Close()
		return nil, stageErr(stage, err)
	}
	helo := r.Helo
	if helo == "" {
		if helo = DefaultHelo(""); helo == "" {
			helo = addressLiteral(nc.LocalAddr())
		}
	}
	if err := c.Hello(helo); err != nil {
		return fail(stageHello, err)
	}
	if r.TLS == TLSOpportunistic || r.TLS == TLSRequired {
		if ok, _ := c.Extension("STARTTLS"); ok {
			c.UpdateDeadline(t.Dial)
			if err := c.StartTLS(r.tlsConfig()); err != nil {
				return fail(stageTLS, err)
			}
			cn.tls = true
		} else if r.TLS == TLSRequired {
			return fail(stageTLS, refusal{"server does not offer STARTTLS and the relay URL says tls=required"})
		}
	}
	if r.User != "" {
		if !cn.tls && !r.Loopback() {
			return fail(stageAuth, refusal{"refusing AUTH over a cleartext connection (the server offers no STARTTLS)"})
		}
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return fail(stageAuth, refusal{"server offers no AUTH but the relay URL has a user"})
		}
		mech := r.Auth
		if mech == "" {
			up := " " + strings.ToUpper(mechs) + " "
			switch {
			case strings.Contains(up, " PLAIN "):
				mech = "plain"
			case strings.Contains(up, " LOGIN "):
				mech = "login"
			default:
				return fail(stageAuth, refusal{"server offers AUTH " + mechs + "; tidings speaks PLAIN and LOGIN"})
			}
		}
		// allowUnenc=true: the TLS-or-loopback rule was checked above,
		// including for loopback addresses go-mail does not recognise.
		var a smtp.Auth
		if mech == "login" {
			a = smtp.LoginAuth(r.User, r.Password, r.Host, true)
		} else {
			a = smtp.PlainAuth("", r.User, r.Password, r.Host, true)
		}
		c.UpdateDeadline(t.Command)
		if err := c.Auth(a); err != nil {
			return fail(stageAuth, err)
		}
	}
	return cn, nil
}

// send runs one mail transaction. beforeData runs after the server
// accepted the recipient and before DATA: the delivery log records
// "sending" there, so a crash during DATA is known to be ambiguous. An
// error from beforeData aborts the transaction with RSET and is returned
// as is. reply is the server's final answer to the message.
func (cn *conn) send(from string, to []string, msg []byte, beforeData func() error) (reply string, err error) {
	c := cn.c
	c.UpdateDeadline(cn.t.Command)
	if err := c.Mail("<" + from + ">"); err != nil {
		return "", stageErr(stageMail, err)
	}
	for _, rcpt := range to {
		c.UpdateDeadline(cn.t.Command)
		if err := c.Rcpt("<" + rcpt + ">"); err != nil {
			return "", stageErr(stageRcpt, err)
		}
	}
	if beforeData != nil {
		if err := beforeData(); err != nil {
			if rerr := cn.reset(); rerr != nil {
				return "", rerr
			}
			return "", err
		}
	}
	if crlfOnly(msg) {
		reply, err = cn.data(msg)
	} else {
		reply, err = cn.dataSlow(msg)
	}
	if err != nil {
		return "", stageErr(stageData, err)
	}
	cn.msgs++
	return "250 " + reply, nil
}

// data sends DATA and msg through the client's text connection with the
// bulk dot-stuffer. The session belongs to one worker, so going around
// the client's own locking is safe.
func (cn *conn) data(msg []byte) (string, error) {
	t := cn.c.Text
	cn.c.UpdateDeadline(cn.t.Command)
	id, err := t.Cmd("DATA")
	if err != nil {
		return "", err
	}
	t.StartResponse(id)
	_, _, err = t.ReadResponse(354)
	t.EndResponse(id)
	if err != nil {
		return "", err
	}
	cn.c.UpdateDeadline(cn.t.Data)
	if err := writeDotStuffed(t.W, msg); err != nil {
		return "", err
	}
	if err := t.W.Flush(); err != nil {
		return "", err
	}
	_, reply, err := t.ReadResponse(250)
	return reply, err
}

// dataSlow is go-mail's Data writer, for messages with bare LF line
// breaks (DotWriter turns them into CRLF).
func (cn *conn) dataSlow(msg []byte) (string, error) {
	cn.c.UpdateDeadline(cn.t.Command)
	w, err := cn.c.Data()
	if err != nil {
		return "", err
	}
	cn.c.UpdateDeadline(cn.t.Data)
	if _, err := w.Write(msg); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	reply := ""
	if dc, ok := w.(*smtp.DataCloser); ok {
		reply = dc.ServerResponse()
	}
	return reply, nil
}

// reset aborts a transaction the server refused part of. After a
// completed DATA the server has reset already (RFC 5321 4.1.1.4), so the
// engine sends RSET only after a refusal, saving a round trip per message.
func (cn *conn) reset() error {
	cn.c.UpdateDeadline(cn.t.Command)
	return stageErr(stageReset, cn.c.Reset())
}

// close says QUIT politely when the session is healthy, and drops it otherwise.
func (cn *conn) close(polite bool) {
	if polite {
		cn.c.UpdateDeadline(cn.t.Command)
		if cn.c.Quit() == nil {
			return
		}
	}
	cn.c.Close()
}
