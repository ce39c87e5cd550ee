package ops

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// seedPeople puts n readers on list l in one go, numbered from first:
// reader i is <letter>i@example.org (letters cycle, so address order is
// not id order), every 10th has a name ("Ann 7" or "读者 7"), statuses
// and topics vary with i (see seedStatus, seedTopics).
func seedPeople(tb testing.TB, d *db.DB, l *tidings.List, first, n int) {
	tb.Helper()
	var topics []int64
	rows, err := d.R.Query("SELECT id FROM topics WHERE list_id = ? ORDER BY id", l.ID)
	if err != nil {
		tb.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		topics = append(topics, id)
	}
	rows.Close()
	const batch = 20000
	for lo := first; lo < first+n; lo += batch {
		err := d.WriteTx(tb.Context(), func(tx *sql.Tx) error {
			p, err := tx.Prepare("INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, 1)")
			if err != nil {
				return err
			}
			defer p.Close()
			s, err := tx.Prepare("INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at) VALUES (?, ?, ?, ?, 1, 1)")
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := tx.Prepare("INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)")
			if err != nil {
				return err
			}
			defer st.Close()
			for i := lo; i < min(lo+batch, first+n); i++ {
				addr := seedAddr(i)
				res, err := p.Exec(addr, addr, seedName(i))
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				ts := seedTopics(i, topics)
				if _, err := s.Exec(l.ID, id, string(seedStatus(i)), ts == nil); err != nil {
					return err
				}
				for _, t := range ts {
					if _, err := st.Exec(l.ID, id, t); err != nil {
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
}

func seedAddr(i int) string { return fmt.Sprintf("%c%d@example.org", 'a'+i%26, i) }

func seedName(i int) string {
	switch i % 20 {
	case 0:
		return fmt.Sprintf("Ann %d", i)
	case 10:
		return fmt.Sprintf("读者 %d", i)
	}
	return ""
}

func seedStatus(i int) tidings.Status {
	switch {
	case i%10 == 3:
		return tidings.StatusUnsubscribed
	case i%20 == 1:
		return tidings.StatusPending
	case i%1000 == 999:
		return tidings.StatusBlocked
	}
	return tidings.StatusConfirmed
}

// seedTopics: with fewer than three topics all (nil); else a quarter
// all topics, a quarter the first, a quarter
// the second and third, a quarter the last.
func seedTopics(i int, topics []int64) []int64 {
	switch {
	case i%4 == 0 || len(topics) < 3:
		return nil
	case i%4 == 1:
		return topics[:1]
	case i%4 == 2:
		return topics[1:3]
	}
	return topics[len(topics)-1:]
}

// walk pages through a query and returns the rows' addresses in order,
// failing on a repeated row.
func walk(t *testing.T, e *peopleEnv, a tidings.Actor, q SubscriberQuery, during func(page int)) []string {
	t.Helper()
	var out []string
	seen := map[int64]bool{}
	for page := 0; ; page++ {
		p, err := e.s.Subscribers(e.ctx, a, "keji", q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rows) > q.Limit && q.Limit > 0 {
			t.Fatalf("page of %d rows, limit %d", len(p.Rows), q.Limit)
		}
		for _, r := range p.Rows {
			if seen[r.ID] {
				t.Fatalf("row %s shown twice", r.Email)
			}
			seen[r.ID] = true
			out = append(out, r.Email)
		}
		if during != nil {
			during(page)
		}
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
}

// TestSubscriberPagesWalkEveryRowOnceUnderInserts: readers added while a
// client pages never make a row appear twice, and every row that was
// there from the start is shown — by id and by address order alike.
func TestSubscriberPagesWalkEveryRowOnceUnderInserts(t *testing.T) {
	for _, q := range []SubscriberQuery{{Limit: 37}, {Q: "a", Limit: 7}, {Q: "Ann", Limit: 11}, {Status: tidings.StatusConfirmed, Limit: 50}} {
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
			e := newPeopleEnv(t)
			seedPeople(t, e.d, e.keji, 0, 2000)
			before := bruteForce(t, e, q)
			var wg sync.WaitGroup
			stop := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := subscribers.NewStore(e.d)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := st.Subscribe(e.ctx, e.keji.ID, fmt.Sprintf("a-new%d@example.org", i), "Ann New", subscribers.AllTopics, tidings.StatusConfirmed); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			got := walk(t, e, e.editor, q, nil)
			close(stop)
			wg.Wait()
			have := map[string]bool{}
			for _, g := range got {
				have[g] = true
			}
			for _, b := range before {
				if !have[b] {
					t.Fatalf("%s was there all along but never shown", b)
				}
			}
			if len(before) == 0 {
				t.Fatal("the query matches nothing: a useless test")
			}
		})
	}
}

// bruteForce is what a query should list, worked out in Go from every
// subscription, in the order the pages give: by id; or for a search the
// address matches by address, then the name matches by name (ASCII case
// folded, as SQLite's NOCASE) and id.
func bruteForce(t *testing.T, e *peopleEnv, q SubscriberQuery) []string {
	t.Helper()
	type row struct {
		id        int64
		key, name string
	}
	var byAddr, byName []row
	s := strings.ToLower(q.Q)
	err := subscribers.NewStore(e.d).EachSubscriber(e.ctx, subscribers.Filter{ListID: e.keji.ID, Status: q.Status, Topic: q.Topic},
		func(p tidings.Subscriber, ss tidings.Subscription) error {
			r := row{p.ID, p.Email, asciiLower(p.Name)}
			switch {
			case s == "" || strings.HasPrefix(strings.ToLower(p.Email), s):
				byAddr = append(byAddr, r)
			case !strings.Contains(s, "@") && strings.HasPrefix(r.name, asciiLower(q.Q)):
				byName = append(byName, r)
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if q.Q != "" {
		slices.SortFunc(byAddr, func(a, b row) int { return strings.Compare(strings.ToLower(a.key), strings.ToLower(b.key)) })
	}
	slices.SortFunc(byName, func(a, b row) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return int(a.id - b.id)
	})
	var out []string
	for _, r := range append(byAddr, byName...) {
		out = append(out, r.key)
	}
	return out
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func TestSubscriberFiltersAgreeWithEveryRow(t *testing.T) {
	e := newPeopleEnv(t)
	seedPeople(t, e.d, e.keji, 0, 1500)
	seedPeople(t, e.d, e.other, 1500, 100) // never listed under keji
	for _, q := range []SubscriberQuery{
		{},
		{Status: tidings.StatusUnsubscribed},
		{Status: tidings.StatusBlocked},
		{Topic: "space"}, // its readers and every all-topics reader
		{Topic: "ai", Status: tidings.StatusPending},
		{Q: "q1"},              // address prefix
		{Q: "Q16@EXAMPLE.ORG"}, // one whole address, any case
		{Q: "ann 1"},           // the start of a name
		{Q: "读者"},              // a Chinese name
		{Q: "c", Status: tidings.StatusConfirmed, Topic: "chips"},
		{Q: "ann_1"},         // LIKE's wildcards are plain text
		{Q: "a"},             // addresses, then names ("Ann …") whose address does not start with a
		{Q: "ANN 10"},        // any case
		{Q: "nobody-at-all"}, // nothing
	} {
		t.Run(fmt.Sprintf("%+v", q), func(t *testing.T) {
			q.Limit = 40
			got := walk(t, e, e.admin, q, nil)
			want := bruteForce(t, e, q)
			if len(want) == 0 && q.Q != "nobody-at-all" && q.Q != "ann_1" {
				t.Fatal("the query matches nothing: a useless case")
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("got %d rows, want %d\n got %.300v\nwant %.300v", len(got), len(want), got, want)
			}
		})
	}
	// A page that the address matches fill exactly: the next page holds
	// the name matches, none lost, none twice.
	exact := e.count(t, "SELECT count(*) FROM subscribers p JOIN subscriptions sub ON sub.subscriber_id = p.id AND sub.list_id = ? WHERE p.email_key LIKE 'a%'", e.keji.ID)
	q := SubscriberQuery{Q: "a", Limit: exact}
	if got, want := walk(t, e, e.admin, q, nil), bruteForce(t, e, q); strings.Join(got, " ") != strings.Join(want, " ") || len(want) <= exact {
		t.Fatalf("limit %d: got %d rows, want %d", exact, len(got), len(want))
	}
	// Rows carry their topics: all-topics readers as AllTopics, others
	// their slugs.
	p, err := e.s.Subscribers(e.ctx, e.admin, "keji", SubscriberQuery{Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for _, r := range p.Rows {
		topics = append(topics, fmt.Sprint(r.AllTopics, r.Topics))
	}
	if strings.Join(topics, " ") != "true [] false [ai] false [chips space] false [space]" {
		t.Errorf("topics = %v", topics)
	}
}

func TestSubscriberQueryBadInput(t *testing.T) {
	e := newPeopleEnv(t)
	seedPeople(t, e.d, e.keji, 0, 30)
	p, err := e.s.Subscribers(e.ctx, e.admin, "keji", SubscriberQuery{Limit: 5})
	if err != nil || p.Next == "" {
		t.Fatalf("%v %v", p, err)
	}
	for _, tc := range []struct {
		q     SubscriberQuery
		field string
	}{
		{SubscriberQuery{Cursor: "not-a-cursor!"}, "cursor"},
		{SubscriberQuery{Cursor: "eyJtIjoxfQ"}, "cursor"},
		{SubscriberQuery{Q: "a", Cursor: p.Next}, "cursor"}, // a cursor of another search
		{SubscriberQuery{Limit: -1}, "limit"},
		{SubscriberQuery{Status: "gone"}, "status"},
		{SubscriberQuery{Topic: "misc"}, "topic"},
	} {
		_, err := e.s.Subscribers(e.ctx, e.admin, "keji", tc.q)
		wantField(t, err, tc.field)
	}
	big, err := e.s.Subscribers(e.ctx, e.admin, "keji", SubscriberQuery{Limit: 100000})
	if err != nil || len(big.Rows) != 30 {
		t.Fatalf("a large limit is cut to the most, not refused: %v", err)
	}
	def, err := e.s.Subscribers(e.ctx, e.admin, "keji", SubscriberQuery{})
	if err != nil || len(def.Rows) != 30 || def.Next != "" {
		t.Fatalf("default page: %d rows, next %q, %v", len(def.Rows), def.Next, err)
	}
	_, err = e.s.Subscribers(e.ctx, e.stranger, "keji", SubscriberQuery{})
	wantErr(t, err, ErrForbidden)
}
