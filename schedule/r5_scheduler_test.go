package schedule_test

import (
	"context"
	"testing"
	"time"
)

// TestRecurringWaitsForNextTick: a tick that found nothing ready is
// recorded as handled, so an issue made ready after it waits for the next
// tick instead of going out at the next poll.
func TestRecurringWaitsForNextTick(t *testing.T) {
	at := func(day, hour int) time.Time { return time.Date(2024, 7, day, hour, 0, 0, 0, time.UTC) }
	d, c, st, list := fixture(t, at(1, 7), "UTC")
	if _, err := st.AddCron(context.Background(), list, "0 8 * * *", ""); err != nil {
		t.Fatal(err)
	}
	snd := newSender(t, d, c)
	s := newScheduler(d, c, snd, "a")
	c.Set(at(1, 8))
	step(t, s) // the 08:00 tick: nothing ready
	iss := addIssue(t, d, list, 1, "ready")
	for _, now := range []time.Time{at(1, 9), at(1, 12), at(2, 7).Add(59 * time.Minute)} {
		c.Set(now)
		if ids := step(t, s); len(ids) != 0 {
			t.Fatalf("at %s: sent %v before the next tick", now.Format("Jan 2 15:04"), ids)
		}
	}
	c.Set(at(2, 8))
	if ids := step(t, s); len(ids) != 1 || ids[0] != iss {
		t.Fatalf("at the next tick: sent %v, want [%d]", ids, iss)
	}
	if got := issueStatus(t, d, iss); got != "sent" {
		t.Errorf("status = %q", got)
	}
}
