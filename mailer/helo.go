// helo.go holds the choice of the EHLO name: the relay URL's helo=, else
// the host's fully-qualified name, else the base URL's host, else the
// connection's address literal — never a bare single-label name, which
// many receivers refuse.

package mailer

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
)

// heloLookups are the look-ups DefaultHelo makes; tests replace them.
type heloLookups struct {
	hostname    func() (string, error)
	lookupCNAME func(string) (string, error)
	lookupHost  func(string) ([]string, error)
	lookupAddr  func(string) ([]string, error)
}

var systemLookups = heloLookups{
	hostname:    os.Hostname,
	lookupCNAME: net.LookupCNAME,
	lookupHost:  net.LookupHost,
	lookupAddr:  net.LookupAddr,
}

// fqdnName is a usable EHLO domain: at least two labels, not an IP
// address, not localhost, nothing but letters, digits, '-' and '.'.
func fqdnName(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if !strings.Contains(s, ".") || strings.HasPrefix(s, ".") || strings.Contains(s, "..") {
		return "", false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return "", false
	}
	if s == "localhost.localdomain" || strings.HasSuffix(s, ".localhost") || strings.HasSuffix(s, ".local") {
		return "", false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	return s, true
}

// fqdn is what `hostname -f` prints: the host name when it has a dot,
// else its canonical name in DNS, else a dotted name for one of its
// addresses (the resolver reads /etc/hosts first). "" when none is found.
func (l heloLookups) fqdn() string {
	h, err := l.hostname()
	if err != nil || h == "" {
		return ""
	}
	if n, ok := fqdnName(h); ok {
		return n
	}
	if c, err := l.lookupCNAME(h); err == nil {
		if n, ok := fqdnName(c); ok {
			return n
		}
	}
	addrs, _ := l.lookupHost(h)
	for _, a := range addrs {
		names, _ := l.lookupAddr(a)
		for _, name := range names {
			if n, ok := fqdnName(name); ok {
				return n
			}
		}
	}
	return ""
}

var hostFQDN = sync.OnceValue(systemLookups.fqdn)

// DefaultHelo is the EHLO name for relays whose URL has no helo=: the
// host's fully-qualified name, else baseHost (the base URL's host) when
// it is one, else "" — then each connection says its own address literal
// ([192.0.2.1]), which RFC 5321 allows where no name is known.
func DefaultHelo(baseHost string) string {
	return defaultHelo(hostFQDN(), baseHost)
}

func defaultHelo(fqdn, baseHost string) string {
	if fqdn != "" {
		return fqdn
	}
	if n, ok := fqdnName(baseHost); ok {
		return n
	}
	return ""
}

// addressLiteral is the EHLO argument for a connection whose host has no
// fully-qualified name: its local address in brackets.
func addressLiteral(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return "[127.0.0.1]"
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		return "[IPv6:" + ip.String() + "]"
	}
	return "[" + ip.String() + "]"
}
