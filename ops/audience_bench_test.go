package ops

import (
	"context"
	"database/sql"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/subscribers"
)

// BenchmarkAudience1M measures Audience on a list of 1 000 000 confirmed
// readers spread over 20 topic choices (all topics, none, and one to
// three of 8 topics), for an issue of 8 articles.
func BenchmarkAudience1M(b *testing.B) {
	const readers = 1_000_000
	ctx := context.Background()
	d := dbtest.MustOpenDB(b)
	start := time.Now()
	issueID := bigAudienceList(b, d, readers)
	b.Logf("%d readers inserted in %s", readers, time.Since(start).Round(time.Millisecond))
	s := New(Deps{DB: d})
	admin := tidings.Actor{Kind: tidings.ActorCLI, Name: "bench", Role: tidings.RoleAdmin, AllLists: true}
	// The machine may be shared: CPU time per op says what wall time
	// would be on an idle core.
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		n++
		au, err := s.Audience(ctx, admin, issueID)
		if err != nil {
			b.Fatal(err)
		}
		if au.Total != readers || len(au.Combinations) != 19 || au.Skipped != readers/20 {
			b.Fatalf("total %d, %d combinations, skipped %d", au.Total, len(au.Combinations), au.Skipped)
		}
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(n)/1e6, "cpu-ms/op")
}

// bigAudienceList makes list "big" with n confirmed readers over 20
// topic choices (all topics, none, one to three of 8 topics) and an
// issue of 8 articles, one per topic; it returns the issue's id.
func bigAudienceList(tb testing.TB, d *db.DB, readers int) int64 {
	ctx := context.Background()
	st := subscribers.NewStore(d)
	l := &tidings.List{Slug: "big", Name: "Big", From: "Big <big@example.org>", TZ: "UTC"}
	if err := st.CreateList(ctx, l); err != nil {
		tb.Fatal(err)
	}
	var topicIDs []int64
	md := "---\ntitle: Big\nnumber: 1\n---\n\n"
	for i := range 8 {
		tp := &tidings.Topic{Slug: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("T%d", i)}
		if err := st.AddTopic(ctx, l.ID, tp); err != nil {
			tb.Fatal(err)
		}
		topicIDs = append(topicIDs, tp.ID)
		md += fmt.Sprintf("## Article %d {topics=t%d}\n\nText %d.\n\n", i+1, i, i)
	}
	topics, _ := st.Topics(ctx, l.ID)
	is, err := issues.NewStore(d).Import(ctx, l.ID, "big.md", []byte(md), topics)
	if err != nil {
		tb.Fatal(err)
	}
	// 20 choices: nil = all topics, [] = none, else topic indexes.
	choices := [][]int{nil, {}, {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7},
		{0, 1}, {2, 3}, {4, 5}, {6, 7}, {0, 7}, {1, 2, 3}, {3, 4, 5}, {5, 6, 7}, {0, 2, 4}, {1, 3, 5}}
	const batch = 20000
	for lo := 0; lo < readers; lo += batch {
		err := d.WriteTx(ctx, func(tx *sql.Tx) error {
			ps, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, '', 1)`)
			if err != nil {
				return err
			}
			defer ps.Close()
			ss, err := tx.PrepareContext(ctx, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at) VALUES (?, ?, 'confirmed', ?, 1, 1)`)
			if err != nil {
				return err
			}
			defer ss.Close()
			ts, err := tx.PrepareContext(ctx, `INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)`)
			if err != nil {
				return err
			}
			defer ts.Close()
			for i := lo; i < min(readers, lo+batch); i++ {
				email := fmt.Sprintf("r%07d@example.com", i)
				res, err := ps.ExecContext(ctx, email, email)
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				c := choices[i%len(choices)]
				all := 0
				if c == nil {
					all = 1
				}
				if _, err := ss.ExecContext(ctx, l.ID, id, all); err != nil {
					return err
				}
				for _, t := range c {
					if _, err := ts.ExecContext(ctx, l.ID, id, topicIDs[t]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := d.W.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	return is.ID
}
