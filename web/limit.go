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
type limiter struct {
	lim Limit

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// maxBuckets bounds memory: beyond it, full (idle) buckets are dropped.
const maxBuckets = 10000

func newLimiter(l Limit) *limiter {
	return &limiter{lim: l, m: map[string]*rate.Limiter{}}
}

// allow takes one token from key's bucket at now.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.lim.Every < 0 || l.lim.Burst < 0 {
		return true // disabled
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxBuckets {
			l.prune(now)
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
		return host
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
