package auth

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an address, a client IP) in a sliding
// window and refuses a key that reached Max of them until the oldest
// leaves the window. Memory is bounded: each key keeps at most Max
// instants and at most MaxKeys keys are held; when full, expired keys go
// first, then the key whose last failure is oldest (the one least likely
// to be mid-attack).
type Limiter struct {
	Max     int
	Window  time.Duration
	MaxKeys int
	Now     func() time.Time

	mu   sync.Mutex
	keys map[string][]time.Time // failures, oldest first, within Window
}

// NewLimiter makes a limiter of max failures per window, holding at most
// maxKeys keys.
func NewLimiter(max int, window time.Duration, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{Max: max, Window: window, MaxKeys: maxKeys, Now: now, keys: map[string][]time.Time{}}
}

// live drops the instants of key older than the window; l.mu is held.
func (l *Limiter) live(key string, now time.Time) []time.Time {
	ts := l.keys[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.Window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.keys, key)
		return nil
	}
	l.keys[key] = ts
	return ts
}

// Allow reports whether key may try now, and if not, how long until it
// may.
func (l *Limiter) Allow(key string) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	ts := l.live(key, now)
	if len(ts) < l.Max {
		return 0, true
	}
	wait := ts[len(ts)-l.Max].Add(l.Window).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return wait, false
}

// Take is Allow and Fail at once: it counts an attempt before it is
// made, so that many attempts in parallel cannot all pass a check that
// none of them has failed yet. Forgive the attempt when it succeeds.
func (l *Limiter) Take(key string) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	ts := l.live(key, now)
	if len(ts) >= l.Max {
		wait := ts[len(ts)-l.Max].Add(l.Window).Sub(now)
		return max(wait, time.Second), false
	}
	l.fail(key, ts, now)
	return 0, true
}

// Forgive takes back the newest attempt of key (a Take that succeeded).
func (l *Limiter) Forgive(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ts := l.keys[key]; len(ts) > 1 {
		l.keys[key] = ts[:len(ts)-1]
	} else {
		delete(l.keys, key)
	}
}

// Fail records one failure of key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	l.fail(key, l.live(key, now), now)
}

// fail appends now to key's instants ts; l.mu is held.
func (l *Limiter) fail(key string, ts []time.Time, now time.Time) {
	if ts == nil && len(l.keys) >= l.MaxKeys {
		l.evict(now)
	}
	ts = append(ts, now)
	if len(ts) > l.Max {
		ts = ts[len(ts)-l.Max:]
	}
	l.keys[key] = ts
}

// Reset forgets key's failures (after a successful sign-in).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
}

// Len is the number of keys held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// evict makes room for one key; l.mu is held.
func (l *Limiter) evict(now time.Time) {
	for k := range l.keys {
		l.live(k, now)
	}
	if len(l.keys) < l.MaxKeys {
		return
	}
	var oldest string
	var at time.Time
	for k, ts := range l.keys {
		if last := ts[len(ts)-1]; oldest == "" || last.Before(at) {
			oldest, at = k, last
		}
	}
	delete(l.keys, oldest)
}
