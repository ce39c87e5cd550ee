package ops

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/subscribers"
)

// BenchmarkHome1M measures the home page of one list with 1 000 000
// confirmed readers and three finished sends to all of them (3 000 000
// delivery rows), plus a recurring schedule.
func BenchmarkHome1M(b *testing.B) {
	const readers = 1_000_000
	ctx := context.Background()
	d := dbtest.MustOpenDB(b)
	start := time.Now()
	first := bigAudienceList(b, d, readers)
	l, err := subscribers.NewStore(d).List(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	topics, _ := subscribers.NewStore(d).Topics(ctx, l.ID)
	ids := []int64{first}
	for n := 2; n <= 3; n++ {
		md := fmt.Sprintf("---\ntitle: Big %d\nnumber: %d\n---\n\n## A {topics=t1}\n\nText.\n", n, n)
		is, err := issues.NewStore(d).Import(ctx, l.ID, "big.md", []byte(md), topics)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, is.ID)
	}
	for i, id := range ids {
		at := int64(1_800_000_000 + i*86400)
		if _, err := d.W.ExecContext(ctx, `INSERT INTO deliveries (issue_id, subscriber_id, state, created_at, updated_at, sent_at)
			SELECT ?, subscriber_id, CASE WHEN subscriber_id % 50 = 0 THEN 'bounced' ELSE 'sent' END, ?, ?, ?
			FROM subscriptions WHERE list_id = ?`, id, at, at, at, l.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := d.W.ExecContext(ctx, `INSERT INTO sends (issue_id, state, started_at, finished_at) VALUES (?, 'done', ?, ?)`, id, at, at+3600); err != nil {
			b.Fatal(err)
		}
		if _, err := d.W.ExecContext(ctx, `UPDATE issues SET status = 'sent', sent_at = ? WHERE id = ?`, at, id); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := d.W.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	s := New(Deps{DB: d})
	admin := tidings.Actor{Kind: tidings.ActorCLI, Name: "bench", Role: tidings.RoleAdmin, AllLists: true}
	if _, err := s.AddRecurring(ctx, admin, "big", "0 8 * * 1", ""); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d readers and %d deliveries in %s", readers, 3*readers, time.Since(start).Round(time.Millisecond))
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		h, err := s.Home(ctx, admin)
		if err != nil {
			b.Fatal(err)
		}
		if len(h) != 1 || h[0].Counts[tidings.StatusConfirmed] != readers || len(h[0].LastSends) != 3 || h[0].LastSends[0].Counts.Sent != readers-readers/50 {
			b.Fatalf("home = %+v", h)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(n)/1e6, "cpu-ms/op")
}
