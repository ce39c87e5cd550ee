// Package mailer delivers issues over SMTP: a crash-safe delivery log in
// SQLite, concurrent workers spread over one or more relays, a global and
// per-relay rate limit that backs off when a relay throttles, retries with
// exponential backoff, bounce bookkeeping, DKIM signing, and a one-off
// sender for transactional mail.
//
// The package knows nothing of rendering or of how subscribers are stored:
// it asks a Composer (cmd wires render.Edition into one) for each
// recipient's message bytes and a Recipients source for the recipient set,
// and writes only its own tables (sends, deliveries, bounces) plus the
// status columns of issues and subscriptions that a send decides.
package mailer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ErrBadRelay reports an SMTP URL that cannot be used.
var ErrBadRelay = errors.New("bad smtp url")

// TLSMode says how a relay connection is secured.
type TLSMode string

const (
	// TLSOpportunistic uses STARTTLS when the server offers it (the default).
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSRequired insists on STARTTLS; a server without it is an error.
	TLSRequired TLSMode = "required"
	// TLSNone never starts TLS.
	TLSNone TLSMode = "none"
	// TLSImplicit is smtps://: TLS from the first byte.
	TLSImplicit TLSMode = "implicit"
)

// Relay is one SMTP server to send through, parsed from a URL such as
//
//	smtp://user:pass@host:587?tls=required&conns=4&rate=10&hourly=1000&helo=mail.example.org
//
// The password lives only here; String and Redacted never show it.
type Relay struct {
	Host     string
	Port     int
	User     string
	Password string
	TLS      TLSMode
	// Conns caps this relay's parallel connections; 0 = as many as the
	// engine's concurrency.
	Conns int
	// Rate caps messages per second through this relay; 0 = no limit.
	Rate float64
	// Hourly caps messages per clock hour through this relay; 0 = no cap.
	Hourly int
	// Helo is the EHLO name; default the machine's host name.
	Helo string
	// Auth forces a mechanism ("plain" or "login"); default: what the
	// server offers, PLAIN first.
	Auth string
	// InsecureSkipVerify turns off certificate checks (self-signed test
	// relays only; the URL says tls_verify=false).
	InsecureSkipVerify bool
	// TLSConfig, when set by a program, replaces the default TLS settings
	// (tests use it to trust a throwaway certificate).
	TLSConfig *tls.Config
}

// Addr is host:port.
func (r Relay) Addr() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// Redacted is the relay as a URL with the password replaced by xxxxx:
// the only form that may appear in logs and errors.
func (r Relay) Redacted() string {
	scheme := "smtp"
	if r.TLS == TLSImplicit {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: r.Addr()}
	if r.User != "" {
		if r.Password != "" {
			u.User = url.UserPassword(r.User, "xxxxx")
		} else {
			u.User = url.User(r.User)
		}
	}
	return u.String()
}

// String is Redacted, so that %v never leaks a password.
func (r Relay) String() string { return r.Redacted() }

// Loopback reports whether the relay runs on this machine, where AUTH
// over cleartext exposes nothing to the network.
func (r Relay) Loopback() bool {
	if strings.EqualFold(r.Host, "localhost") {
		return true
	}
	ip := net.ParseIP(r.Host)
	return ip != nil && ip.IsLoopback()
}

var userinfo = regexp.MustCompile(`(://[^:/@\s]*):[^@\s]*@`)

// RedactURL hides the password of an SMTP URL that may not even parse,
// for error messages about it.
func RedactURL(s string) string { return userinfo.ReplaceAllString(s, "$1:xxxxx@") }

// ParseRelayURL parses one relay URL. Schemes: smtp (port 25 by default,
// STARTTLS when offered) and smtps (port 465, implicit TLS). Query
// parameters: tls=opportunistic|required|none, conns, rate, hourly, helo,
// auth=plain|login, tls_verify=false. AUTH is refused over cleartext
// (tls=none) unless the relay is on a loopback address.
func ParseRelayURL(s string) (Relay, error) {
	bad := func(format string, a ...any) (Relay, error) {
		return Relay{}, fmt.Errorf("%w %s: %s", ErrBadRelay, RedactURL(s), fmt.Sprintf(format, a...))
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		// url's own error repeats the input, password included.
		return bad("not a URL")
	}
	var r Relay
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		r.TLS, r.Port = TLSOpportunistic, 25
	case "smtps":
		r.TLS, r.Port = TLSImplicit, 465
	default:
		return bad("scheme must be smtp or smtps")
	}
	r.Host = u.Hostname()
	if r.Host == "" {
		return bad("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("port %q out of range", p)
		}
		r.Port = n
	}
	if u.User != nil {
		r.User = u.User.Username()
		r.Password, _ = u.User.Password()
	}
	if u.Path != "" && u.Path != "/" {
		return bad("unexpected path %q", u.Path)
	}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "tls":
			switch TLSMode(strings.ToLower(v)) {
			case TLSOpportunistic, "":
			case TLSRequired:
				if r.TLS != TLSImplicit {
					r.TLS = TLSRequired
				}
			case TLSNone:
				if r.TLS == TLSImplicit {
					return bad("tls=none contradicts smtps")
				}
				r.TLS = TLSNone
			default:
				return bad("tls=%q: want opportunistic, required or none", v)
			}
		case "conns":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad("conns=%q: want a whole number ≥ 0", v)
			}
			r.Conns = n
		case "rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return bad("rate=%q: want a number ≥ 0", v)
			}
			r.Rate = f
		case "hourly":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad("hourly=%q: want a whole number ≥ 0", v)
			}
			r.Hourly = n
		case "helo":
			if v == "" || strings.ContainsAny(v, " \r\n") {
				return bad("helo=%q: want a host name", v)
			}
			r.Helo = v
		case "auth":
			switch strings.ToLower(v) {
			case "plain", "login":
				r.Auth = strings.ToLower(v)
			default:
				return bad("auth=%q: want plain or login", v)
			}
		case "tls_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("tls_verify=%q: want true or false", v)
			}
			r.InsecureSkipVerify = !b
		default:
			return bad("unknown parameter %q", k)
		}
	}
	if r.User != "" && r.TLS == TLSNone && !r.Loopback() {
		return bad("refusing to send a password over cleartext (tls=none) to a non-loopback host")
	}
	return r, nil
}

// ParseRelayURLs parses several URLs (flags repeated, or one value with
// URLs separated by spaces).
func ParseRelayURLs(urls []string) ([]Relay, error) {
	var out []Relay
	for _, s := range urls {
		for _, f := range strings.Fields(s) {
			r, err := ParseRelayURL(f)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}
