package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets by key (client IP, address). Times are
// passed in, so tests drive it with a fake clock.
//
// Memory is bounded: at most max buckets live at once. A bucket that has
// refilled behaves exactly like a new one, so it can be forgotten; when the
// table is full of buckets still in use (many IPs or addresses within one
// refill period — an attack), a new key is refused rather than an old one
// evicted: evicting would hand a mail-bomber a fresh bucket for the
// victim's address, and refusing costs only the attacker's own window.
type limiter struct {
	lim Limit
	max int

	mu        sync.Mutex
	m         map[string]*rate.Limiter
	nextPrune time.Time // a full table is swept at most once a second
}

// maxBuckets bounds memory (about 200 bytes a bucket).
const maxBuckets = 20000

// maxKey bounds a key's length: a key from X-Forwarded-For that is not an
// IP is the client's own text.
const maxKey = 256

func newLimiter(l Limit) *limiter {
	return &limiter{lim: l, max: maxBuckets, m: map[string]*rate.Limiter{}}
}

// allow takes one token from key's bucket at now.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.lim.Every < 0 || l.lim.Burst < 0 {
		return true // disabled
	}
	if len(key) > maxKey {
		key = key[:maxKey]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max {
			// Sweeping is O(buckets): amortise it, so a flood of new
			// keys does not turn every request into a full scan.
			if !now.Before(l.nextPrune) {
				l.prune(now)
				l.nextPrune = now.Add(time.Second)
			}
			if len(l.m) >= l.max {
				return false
			}
		}
		b = rate.NewLimiter(rate.Every(l.lim.Every), l.lim.Burst) // starts full
		l.m[key] = b
	}
	return b.AllowN(now, 1)
}

// prune forgets buckets that have refilled: they behave like new ones.
func (l *limiter) prune(now time.Time) {
	for k, b := range l.m {
		if b.TokensAt(now) >= float64(l.lim.Burst) {
			delete(l.m, k)
		}
	}
}

// mailboxKey is the address-limit key of an address key (lower case):
// sub-addresses (name+tag@) and, at Gmail, dots in the local part reach
// one mailbox, so they share one bucket — otherwise a mail-bomber would
// get a fresh bucket per tag. Only the limit uses it: the subscription is
// for the address as typed.
func mailboxKey(key string) string {
	at := strings.LastIndexByte(key, '@')
	if at <= 0 {
		return key
	}
	local, domain := key[:at], key[at+1:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if domain == "gmail.com" || domain == "googlemail.com" {
		local, domain = strings.ReplaceAll(local, ".", ""), "gmail.com"
	}
	return local + "@" + domain
}

// clientIP is the requester's address as a bucket key; IPv6 clients are
// grouped by /64, the block one customer usually gets.
func (s *Server) clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if s.cfg.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			host = strings.TrimSpace(parts[len(parts)-1])
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil {
		if len(host) > maxKey {
			host = host[:maxKey]
		}
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
