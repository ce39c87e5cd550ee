package web

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A flood of distinct keys (many IPs, many addresses) within one refill
// period must not grow the table without bound, and must not evict a
// bucket still in use (that would reset a mail-bomb victim's limit).
func TestLimiterBoundedMemory(t *testing.T) {
	l := newLimiter(Limit{Every: time.Hour, Burst: 2})
	l.max = 100
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !l.allow("victim", t0) || !l.allow("victim", t0) {
		t.Fatal("burst refused")
	}
	refused := 0
	for i := range 1000 {
		if !l.allow(fmt.Sprintf("k%d", i), t0.Add(time.Duration(i)*time.Millisecond)) {
			refused++
		}
	}
	if len(l.m) > l.max {
		t.Errorf("%d buckets, max %d", len(l.m), l.max)
	}
	if refused != 1000-(l.max-1) {
		t.Errorf("%d new keys refused, want %d", refused, 1000-(l.max-1))
	}
	if l.allow("victim", t0.Add(time.Second)) {
		t.Error("the victim's empty bucket was evicted and refilled")
	}
	// Once buckets have refilled they are swept and new keys come in.
	later := t0.Add(2 * time.Hour)
	if !l.allow("newcomer", later) {
		t.Error("a new key refused after every bucket refilled")
	}
	if len(l.m) > 2 {
		t.Errorf("%d buckets after the sweep", len(l.m))
	}
	// Keys are bounded in length.
	long := strings.Repeat("x", 10000)
	l.allow(long, later)
	for k := range l.m {
		if len(k) > maxKey {
			t.Errorf("key of %d bytes stored", len(k))
		}
	}
}

func TestMailboxKey(t *testing.T) {
	for in, want := range map[string]string{
		"ada@example.net":      "ada@example.net",
		"ada+news@example.net": "ada@example.net",
		"ada+a+b@example.net":  "ada@example.net",
		"+ada@example.net":     "+ada@example.net",
		"a.d.a+x@gmail.com":    "ada@gmail.com",
		"ada@googlemail.com":   "ada@gmail.com",
		"a.da@example.net":     "a.da@example.net",
		"no-at-sign":           "no-at-sign",
		"\"a+b\"@example.net":  "\"a@example.net",
	} {
		if got := mailboxKey(in); got != want {
			t.Errorf("mailboxKey(%q) = %q, want %q", in, got, want)
		}
	}
}
