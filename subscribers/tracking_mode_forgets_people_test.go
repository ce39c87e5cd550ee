package subscribers_test

import (
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// A list that stops tracking a kind per person (individual → aggregate or
// off) keeps no per-person row of that kind: its preference page then says
// "we do not record who clicked", and no row may say otherwise. The other
// kind, still individual, and the counters (which name no one) stay.
func TestLeavingIndividualForgetsThatKindsPerPersonEvents(t *testing.T) {
	s, d := newStore(t)
	l := fixture(t, s)
	other := &tidings.List{Slug: "other", Name: "Other", From: "Other <o@example.org>"}
	if err := s.CreateList(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, list := range []string{l.Slug, other.Slug} {
		if err := s.UpdateList(ctx, list, func(l *tidings.List) error {
			l.Clicks, l.Opens = tidings.TrackIndividual, tidings.TrackIndividual
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	p := mustSub(t, s, l.ID, "reader@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	for _, q := range []string{
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (1, ?1, 1, 'No. 1', 0)",
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (2, ?2, 1, 'Other 1', 0)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?3, 1, 'click', 1, 1, 'human', '', 100)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?3, 1, 'open', 0, 0, 'human', '', 100)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?3, 2, 'click', 1, 1, 'human', '', 100)",
		"INSERT INTO track_counts (issue_id, kind, position, link, topic_set, verdict, reason, hour, n) VALUES (1, 'click', 1, 1, 0, 'human', '', 0, 1)",
	} {
		if _, err := d.W.Exec(q, l.ID, other.ID, p.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := d.R.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	steps := []struct {
		name          string
		clicks, opens tidings.Tracking
		want          map[string]int // "issue kind" → rows
	}{
		{"rename only", tidings.TrackIndividual, tidings.TrackIndividual, map[string]int{"1 click": 1, "1 open": 1, "2 click": 1}},
		{"clicks to aggregate", tidings.TrackAggregate, tidings.TrackIndividual, map[string]int{"1 open": 1, "2 click": 1}},
		{"opens off", tidings.TrackAggregate, tidings.TrackOff, map[string]int{"2 click": 1}},
	}
	for _, st := range steps {
		if err := s.UpdateList(ctx, l.Slug, func(l *tidings.List) error {
			l.Name = "科技情报 " + st.name
			l.Clicks, l.Opens = st.clicks, st.opens
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got := map[string]int{}
		rows, err := d.R.Query("SELECT issue_id || ' ' || kind, count(*) FROM track_events GROUP BY 1")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			got[k] = n
		}
		rows.Close()
		if len(got) != len(st.want) {
			t.Errorf("%s: per-person events %v, want %v", st.name, got, st.want)
		}
		for k, n := range st.want {
			if got[k] != n {
				t.Errorf("%s: per-person events %v, want %v", st.name, got, st.want)
				break
			}
		}
		if n := count("SELECT SUM(n) FROM track_counts"); n != 1 {
			t.Errorf("%s: counters hold %d events, want 1", st.name, n)
		}
	}
}
