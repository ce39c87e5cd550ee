package track

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
)

// clock is a test clock: tests move it, the tracker reads it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var sentAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is a real database with one list, one sent issue with three
// registered links, and two subscribers; a tracker on a real HTTP server.
type fixture struct {
	d      *db.DB
	signer *Signer
	clk    *clock
	tr     *Tracker
	srv    *httptest.Server
	issue  int64
	subs   [2]int64
}

var testSecret = []byte("fedcba9876543210fedcba9876543210")

func newFixture(t testing.TB, clicks, opens string) *fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.MustOpenDB(t)
	f := &fixture{d: d, signer: NewSigner(testSecret), clk: &clock{t: sentAt}}
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO lists (slug, name, from_addr, created_at, clicks, opens, activity_days) VALUES ('weekly', 'Weekly', 'w@example.org', 1, ?, ?, 30)`, clicks, opens)
		if err != nil {
			return err
		}
		list, _ := res.LastInsertId()
		res, err = tx.Exec(`INSERT INTO issues (list_id, number, title, status, created_at, sent_at) VALUES (?, 1, 'One', 'sent', 1, ?)`, list, sentAt.Unix())
		if err != nil {
			return err
		}
		f.issue, _ = res.LastInsertId()
		for i, e := range []string{"ada@example.org", "bo@example.org"} {
			res, err := tx.Exec(`INSERT INTO subscribers (email, email_key, created_at) VALUES (?, ?, 1)`, e, e)
			if err != nil {
				return err
			}
			f.subs[i], _ = res.LastInsertId()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(ctx, d, Plan{Issue: f.issue, Links: []Link{
		{1, 1, "https://example.com/one?a=1&b=2"},
		{1, 2, "https://example.com/two"},
		{2, 1, "http://example.net/three"},
	}, Topics: []int64{5, 6}}); err != nil {
		t.Fatal(err)
	}
	f.tr, err = New(Config{DB: d, Signer: f.signer, Now: f.clk.Now, Metrics: NewMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.tr.Routes(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// ref is a token's content for this fixture's issue.
func (f *fixture) ref(kind Kind, pos, link int, nonce uint32, sub int64) Ref {
	return Ref{Kind: kind, Issue: f.issue, Position: pos, Link: link, Sent: sentAt, Nonce: nonce, TopicSet: 0b11, Subscriber: sub}
}

func (f *fixture) url(r Ref) string {
	p := "/c/"
	if r.Kind == Open {
		p = "/o/"
	}
	return f.srv.URL + p + f.signer.Sign(r)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do makes one request at clock time at and returns the response.
func (f *fixture) do(t testing.TB, at time.Time, method, u, ua string) *http.Response {
	t.Helper()
	f.clk.Set(at)
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// counts reads track_counts as "kind pos/link verdict reason" → n.
func (f *fixture) counts(t testing.TB) map[string]int {
	t.Helper()
	rows, err := f.d.R.Query(`SELECT kind, position, link, verdict, reason, SUM(n) FROM track_counts WHERE issue_id = ? GROUP BY 1, 2, 3, 4, 5`, f.issue)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var kind, verdict, reason string
		var pos, link, n int
		if err := rows.Scan(&kind, &pos, &link, &verdict, &reason, &n); err != nil {
			t.Fatal(err)
		}
		out[kind+" "+itoa(pos)+"/"+itoa(link)+" "+verdict+" "+reason] = n
	}
	return out
}

func itoa(i int) string { return string(rune('0' + i)) }

func (f *fixture) settle(t testing.TB) {
	t.Helper()
	if err := f.tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) rowCount(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.d.R.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newMux(tr *Tracker) *http.ServeMux {
	mux := http.NewServeMux()
	tr.Routes(mux)
	return mux
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("User-Agent", uaFirefox)
	h.ServeHTTP(rec, req)
	return rec
}
