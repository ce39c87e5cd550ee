package auth

import (
	"fmt"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)} }

func TestLimiterRefusesAfterMaxAndSaysWhen(t *testing.T) {
	c := newClock()
	l := NewLimiter(5, 15*time.Minute, 100, c.now)
	for i := range 5 {
		if _, ok := l.Allow("a"); !ok {
			t.Fatalf("refused after %d failures, want 5 allowed", i)
		}
		l.Fail("a")
		c.add(time.Minute)
	}
	wait, ok := l.Allow("a")
	if ok {
		t.Fatal("allowed after 5 failures in the window")
	}
	// First failure at 08:00, now 08:05: it leaves the window at 08:15.
	if wait != 10*time.Minute {
		t.Fatalf("retry after %s, want 10m", wait)
	}
	if _, ok := l.Allow("b"); !ok {
		t.Fatal("another key was refused")
	}
	c.add(wait)
	if _, ok := l.Allow("a"); !ok {
		t.Fatal("still refused once the oldest failure left the window")
	}
	l.Fail("a")
	if _, ok := l.Allow("a"); ok {
		t.Fatal("a fresh failure on a full window should refuse again")
	}
	l.Reset("a")
	if _, ok := l.Allow("a"); !ok {
		t.Fatal("refused after Reset")
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	c := newClock()
	l := NewLimiter(3, time.Hour, 50, c.now)
	for i := range 1000 {
		for range 10 {
			l.Fail(fmt.Sprintf("k%d", i))
		}
		c.add(time.Millisecond)
	}
	if n := l.Len(); n > 50 {
		t.Fatalf("%d keys held, at most 50", n)
	}
	for k, ts := range l.keys {
		if len(ts) > 3 {
			t.Fatalf("key %s holds %d instants, at most 3", k, len(ts))
		}
	}
	// The newest keys survive eviction: the one under attack now is held.
	if _, ok := l.Allow("k999"); ok {
		t.Fatal("the most recent key was evicted")
	}
}

func TestLimiterTakeCountsBeforeTheAttempt(t *testing.T) {
	c := newClock()
	l := NewLimiter(3, time.Minute, 100, c.now)
	for i := range 3 {
		if _, ok := l.Take("a"); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	if wait, ok := l.Take("a"); ok || wait != time.Minute {
		t.Fatalf("4th take: ok=%v wait=%s", ok, wait)
	}
	l.Forgive("a") // the third succeeded
	if _, ok := l.Take("a"); !ok {
		t.Fatal("a forgiven attempt still counts")
	}
	l.Forgive("nobody") // no panic, nothing made up
	if l.Len() != 1 {
		t.Fatalf("%d keys", l.Len())
	}
}
