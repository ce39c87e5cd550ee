package schedule_test

import (
	"context"
	"testing"
	"time"

	"github.com/tidings/tidings/schedule"
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

// TestRunClaimsOnlyUnderTheLease: the loop renews the lease only every
// third of its TTL, so between renewals another process may hold it (the
// row was taken over while this one stalled). Work is claimed in the same
// transaction that checks the lease, so nothing is sent then.
func TestRunClaimsOnlyUnderTheLease(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "UTC")
	iss := addIssue(t, d, list, 1, "draft")
	snd := newSender(t, d, c)
	s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Logger: quiet(), Poll: 10 * time.Millisecond,
		LeaseTTL: time.Hour, Owner: "A"})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-ran:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return within 20 s of cancel")
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !s.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("A never took the lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// B takes the lease over behind A's back; A's next renewal is 20 min
	// of its clock away.
	if _, err := d.W.Exec(`UPDATE leases SET owner = 'B', until = ? WHERE name = ?`, c.Now().Add(time.Hour).Unix(), schedule.SenderLease); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddOnce(context.Background(), iss, c.Now().Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	time.Sleep(300 * time.Millisecond) // some 30 polls of A
	if n := snd.count(); n != 0 || issueStatus(t, d, iss) != "scheduled" {
		t.Fatalf("A sent %d times without the lease; issue %q", n, issueStatus(t, d, iss))
	}
}
