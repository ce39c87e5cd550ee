package mailer

import (
	"context"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestHourlyCapSpillsToOtherRelay: a relay whose hourly cap is used up
// takes no more messages that hour, counting what earlier runs sent
// through it; the other relay carries the rest, and the send ends at
// once instead of waiting for the next hour with connections held open.
func TestHourlyCapSpillsToOtherRelay(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)
	f := newFixture(t, 16) // 12 deliverable
	capped := startSink(t, smtpsink.Options{})
	other := startSink(t, smtpsink.Options{})
	cr := sinkRelay(t, capped)
	cr.Hourly = 5
	// Two messages of an earlier issue went through the capped relay this
	// hour, one in the hour before.
	for i, at := range []time.Time{now.Add(-20 * time.Minute), now.Add(-time.Minute), now.Add(-50 * time.Minute)} {
		if _, err := f.d.W.Exec(`INSERT INTO issues (list_id, number, title, status, created_at) VALUES (?, ?, 'old', 'sent', 1)`, f.listID, 100+i); err != nil {
			t.Fatal(err)
		}
		if _, err := f.d.W.Exec(`INSERT INTO deliveries (issue_id, subscriber_id, state, relay, sent_at, created_at, updated_at)
			VALUES ((SELECT max(id) FROM issues), ?, 'sent', ?, ?, 1, 1)`, f.subs[0].SubscriberID, cr.Redacted(), at.Unix()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fastConfig(cr, sinkRelay(t, other))
	cfg.Concurrency = 4
	cfg.Now = func() time.Time { return now }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := f.engine(cfg).Send(ctx, f.issueID, SendOptions{})
	if err != nil {
		t.Fatalf("send did not finish (%v, %d pending): a worker waited for the capped relay's next hour", err, rep.Pending)
	}
	if capped.Count() != 3 || other.Count() != 9 {
		t.Errorf("capped relay took %d (cap 5, 2 used this hour: want 3), the other %d (want 9)", capped.Count(), other.Count())
	}
}
