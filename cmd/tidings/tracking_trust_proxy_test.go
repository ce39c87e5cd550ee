package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/track"
)

// serve's tracker reads the client's address from X-Forwarded-For only
// with TIDINGS_TRUST_PROXY=1: then an open fetched through Apple's proxy
// (an Apple address, a browser's User-Agent) behind a reverse proxy is a
// machine's; without it the header is ignored and the same request is a
// person's open.
func TestTrackerTrustsForwardedForOnlyWhenTold(t *testing.T) {
	sent := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		trust, want string
	}{{"1", "machine apple_proxy"}, {"", "human "}} {
		t.Run("TIDINGS_TRUST_PROXY="+c.trust, func(t *testing.T) {
			ctx := context.Background()
			d, err := db.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			res, err := d.W.Exec(`INSERT INTO lists (slug, name, from_addr, created_at, clicks, opens) VALUES ('weekly', 'Weekly', 'w@example.org', 1, 'aggregate', 'aggregate')`)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := res.LastInsertId()
			res, err = d.W.Exec(`INSERT INTO issues (list_id, number, title, status, created_at, sent_at) VALUES (?, 1, 'One', 'sent', 1, ?)`, list, sent.Unix())
			if err != nil {
				t.Fatal(err)
			}
			issue, _ := res.LastInsertId()
			secret, err := d.Secret(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tok := track.NewSigner(secret).Sign(track.Ref{Kind: track.Open, Issue: issue, Sent: sent, Nonce: 9})

			a := NewApp(nil, io.Discard, io.Discard, func(k string) string {
				if k == "TIDINGS_TRUST_PROXY" {
					return c.trust
				}
				return ""
			})
			a.Now = func() time.Time { return sent.Add(time.Hour) }
			mux := http.NewServeMux()
			stop, err := a.startTracker(ctx, d, slog.New(slog.DiscardHandler), 15*time.Second, prometheus.NewRegistry(), mux)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/o/"+tok, nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)")
			req.Header.Set("X-Forwarded-For", "17.58.101.7")
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				t.Fatalf("open: %d", r.StatusCode)
			}
			stop() // writes what it holds

			var verdict, reason string
			var n int
			if err := d.R.QueryRow(`SELECT verdict, reason, SUM(n) FROM track_counts WHERE kind = 'open' GROUP BY 1, 2`).Scan(&verdict, &reason, &n); err != nil {
				t.Fatal(err)
			}
			if got := verdict + " " + reason; got != c.want || n != 1 {
				t.Errorf("open counted %d× as %q, want once as %q", n, got, c.want)
			}
		})
	}
}
