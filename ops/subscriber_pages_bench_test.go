package ops

import (
	"testing"

	"github.com/tidings/tidings"
)

// BenchmarkSubscribersPage1M pages a list of 1 000 000 readers (see
// seedPeople): the first page and a page 90% of the way in, plain and
// with each filter. ns/op is the time of one page of 50.
//
//	go test ./ops/ -run '^$' -bench SubscribersPage1M -benchtime 200x
func BenchmarkSubscribersPage1M(b *testing.B) {
	const n = 1_000_000
	e := newPeopleEnv(b)
	seedPeople(b, e.d, e.keji, 0, n)
	if _, err := e.d.W.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	// The cursor 90% of the way through, in each order.
	var deepID int64
	if err := e.d.R.QueryRow("SELECT subscriber_id FROM subscriptions WHERE list_id = ? ORDER BY subscriber_id LIMIT 1 OFFSET ?", e.keji.ID, n*9/10).Scan(&deepID); err != nil {
		b.Fatal(err)
	}
	var deepM string
	if err := e.d.R.QueryRow("SELECT email_key FROM subscribers WHERE email_key >= 'm' AND email_key < 'n' ORDER BY email_key LIMIT 1 OFFSET ?", n/26*9/10).Scan(&deepM); err != nil {
		b.Fatal(err)
	}
	var deepName pageCursor
	if err := e.d.R.QueryRow("SELECT name, id FROM subscribers WHERE name = 'Ann 900000'").Scan(&deepName.Key, &deepName.ID); err != nil {
		b.Fatal(err)
	}
	deepName.Mode = "n"
	byID := pageCursor{Mode: "i", ID: deepID}.String()
	// The list itself, with its count of confirmed readers (a count over
	// the status index: what the page header costs when it shows it).
	b.Run("list-with-count", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.s.List(e.ctx, e.admin, "keji"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name string
		q    SubscriberQuery
	}{
		{"first", SubscriberQuery{}},
		{"deep", SubscriberQuery{Cursor: byID}},
		{"status/first", SubscriberQuery{Status: tidings.StatusUnsubscribed}},
		{"status/deep", SubscriberQuery{Status: tidings.StatusUnsubscribed, Cursor: byID}},
		{"rare-status/first", SubscriberQuery{Status: tidings.StatusBlocked}},
		{"topic/first", SubscriberQuery{Topic: "space"}},
		{"topic/deep", SubscriberQuery{Topic: "space", Cursor: byID}},
		{"topic+status/deep", SubscriberQuery{Topic: "ai", Status: tidings.StatusPending, Cursor: byID}},
		{"address-prefix/first", SubscriberQuery{Q: "m1"}},
		{"address/one", SubscriberQuery{Q: "m12@example.org"}},
		{"name/first", SubscriberQuery{Q: "Ann"}},
		{"name/deep", SubscriberQuery{Q: "Ann", Cursor: deepName.String()}},
		{"rare-name/first", SubscriberQuery{Q: "读者 99990"}},
		{"address-prefix/deep", SubscriberQuery{Q: "m", Cursor: pageCursor{Mode: "e", Key: deepM}.String()}},
		// The worst case: a search whose matches are mostly filtered out (0.1% blocked).
		{"address-prefix+rare-status/first", SubscriberQuery{Q: "b", Status: tidings.StatusBlocked}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				p, err := e.s.Subscribers(e.ctx, e.admin, "keji", bc.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Rows) == 0 {
					b.Fatal("empty page")
				}
			}
		})
	}
}
