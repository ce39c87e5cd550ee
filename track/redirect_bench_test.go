package track_test

import (
	"context"
	"database/sql"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/track"
)

// BenchmarkRedirect is the redirect under load: b.N clicks on tracked
// links over real HTTP (8 clients, keep-alive), each with its own signed
// token, while the same process sends the sample issue (with a link per
// article, clicks and opens tracked) to 100 000 readers through the real
// delivery engine to a local SMTP server, and the tracker's writer
// batches the events into the same SQLite database. One op is one
// redirect: the first half measures the most redirects/s 8 keep-alive
// clients get; the second half clicks at 5 000/s (open loop) and reports
// the clients' p50/p99, and the handler's own p99 from its histogram.
// Run it as
//
//	go test -run x -bench Redirect -benchtime 50000x ./track/
//
// (a fixed count: each run starts its own 100 000-reader send).
func BenchmarkRedirect(b *testing.B) {
	b.StopTimer()
	ctx := context.Background()
	d := dbtest.MustOpenDB(b)
	var listID int64
	topics := []tidings.Topic{
		{Slug: "ageing", Name: "养老", Keywords: []string{"养老"}},
		{Slug: "biomed", Name: "生物医药", Keywords: []string{"生物医药"}},
		{Slug: "finance", Name: "科技金融", Keywords: []string{"金融"}},
	}
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO lists (slug, name, from_addr, lang, created_at, clicks, opens) VALUES ('keji', '科技情报参考', '科技情报 <news@example.org>', 'zh', 1, 'aggregate', 'aggregate')`)
		if err != nil {
			return err
		}
		listID, _ = res.LastInsertId()
		for i := range topics {
			res, err := tx.Exec(`INSERT INTO topics (list_id, slug, name, keywords, created_at) VALUES (?, ?, ?, ?, 1)`, listID, topics[i].Slug, topics[i].Name, topics[i].Keywords[0])
			if err != nil {
				return err
			}
			topics[i].ID, _ = res.LastInsertId()
			topics[i].ListID = listID
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile("../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		b.Fatal(err)
	}
	is, err := issues.NewStore(d).Import(ctx, listID, "keji.md", src, topics)
	if err != nil {
		b.Fatal(err)
	}
	// a link at the end of each article (the sample has none)
	if _, err := d.W.Exec(`UPDATE articles SET body = body || char(10) || char(10) || '[原文](https://source.example.cn/a/' || position || ')' WHERE issue_id = ?`, is.ID); err != nil {
		b.Fatal(err)
	}
	const readers = 100_000
	if err := mailer.InsertSubscribers(ctx, d, listID, readers); err != nil {
		b.Fatal(err)
	}
	secret, err := d.Secret(ctx)
	if err != nil {
		b.Fatal(err)
	}
	signer := track.NewSigner(secret)

	sink, err := smtpsink.Start(smtpsink.Options{Discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	relay, err := mailer.ParseRelayURL("smtp://" + sink.Addr)
	if err != nil {
		b.Fatal(err)
	}
	eng := mailer.New(mailer.Config{Relays: []mailer.Relay{relay}, Concurrency: 4, Poll: 20 * time.Millisecond},
		mailer.Deps{DB: d, Campaigns: ops.Campaigns(d, tidings.Links{Base: "https://news.example.org"}, nil), Recipients: subscribers.NewStore(d)})

	metrics := track.NewMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.Collectors()...)
	tr, err := track.New(track.Config{DB: d, Signer: signer, Metrics: metrics})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- tr.Run(runCtx) }()
	mux := http.NewServeMux()
	tr.Routes(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	sendDone := make(chan error, 1)
	go func() {
		_, err := eng.Send(sendCtx, is.ID, mailer.SendOptions{})
		sendDone <- err
	}()
	// the send registers the links before its first message
	deadline := time.Now().Add(30 * time.Second)
	for sink.Count() < 1000 {
		if time.Now().After(deadline) {
			b.Fatalf("send did not start: %d messages", sink.Count())
		}
		time.Sleep(10 * time.Millisecond)
	}

	const clients = 8
	tokens := make([]string, 4096)
	for i := range tokens {
		tokens[i] = signer.Sign(track.Ref{Kind: track.Click, Issue: is.ID, Position: 1 + i%len(is.Articles), Link: 1,
			Sent: time.Now().Add(-time.Hour), Nonce: rand.Uint32(), TopicSet: 1})
	}
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 64}, // keep-alive for every client of both phases
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	var bad atomic.Int64
	click := func(i int) {
		req, _ := http.NewRequest("GET", srv.URL+"/c/"+tokens[i%len(tokens)], nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0")
		res, err := client.Do(req)
		if err != nil || res.StatusCode != http.StatusFound {
			if bad.Add(1) == 1 {
				b.Logf("first failure: %v %v", err, res)
			}
		}
		if res != nil {
			res.Body.Close()
		}
	}
	// fire makes n clicks. pace 0: as fast as `clients` clients can
	// (closed loop: the throughput); otherwise one click every pace from
	// a pool of 64 clients, whatever the answers do (open loop). Latency
	// is from sending the request to reading the answer.
	fire := func(n int, pace time.Duration) (lat []time.Duration, elapsed time.Duration) {
		workers := clients
		if pace > 0 {
			workers = 64
		}
		due := make(chan time.Time, 1024)
		lats := make([][]time.Duration, workers)
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if pace > 0 {
						if _, ok := <-due; !ok {
							return
						}
					}
					t0 := time.Now()
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					click(int(i))
					lats[w] = append(lats[w], time.Since(t0))
				}
			}()
		}
		if pace > 0 {
			for i := range n {
				at := start.Add(time.Duration(i) * pace)
				time.Sleep(time.Until(at))
				due <- at
			}
			close(due)
		}
		wg.Wait()
		lat = slices.Concat(lats...)
		slices.Sort(lat)
		return lat, time.Since(start)
	}
	pct := func(lat []time.Duration, p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	sentBefore := sink.Count()
	b.ResetTimer()
	b.StartTimer()
	start := time.Now()
	half := max(b.N/2, 1)
	_, closedElapsed := fire(half, 0)
	openLat, _ := fire(b.N-half+1, 200*time.Microsecond) // 5 000 clicks/s
	elapsed := time.Since(start)
	b.StopTimer()
	sentDuring := sink.Count() - sentBefore
	if bad.Load() > 0 {
		b.Fatalf("%d redirects failed", bad.Load())
	}
	b.ReportMetric(float64(half)/closedElapsed.Seconds(), "redirects/s")
	b.ReportMetric(pct(openLat, 0.50), "p50-ms@5k/s")
	b.ReportMetric(pct(openLat, 0.99), "p99-ms@5k/s")
	b.ReportMetric(float64(sentDuring)/elapsed.Seconds(), "mails/s-meanwhile")
	b.ReportMetric(float64(tr.Dropped()), "dropped")
	b.ReportMetric(serverQuantile(b, reg, 0.99)*1000, "server-p99-ms")

	// the measurement is over: stop the send (it resumes where it was,
	// like after a shutdown) rather than wait for the rest of it
	stopSend()
	if err := <-sendDone; err != nil && sendCtx.Err() == nil {
		b.Fatal(err)
	}
	if sink.Count() >= readers {
		b.Logf("the send finished during the measurement: use a smaller -benchtime")
	}
	stopRun()
	if err := <-runDone; err != nil {
		b.Fatal(err)
	}
	var counted int
	d.R.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM track_counts WHERE issue_id = ?`, is.ID).Scan(&counted)
	if counted+int(tr.Dropped()) != b.N+1 {
		b.Errorf("counted %d + dropped %d, want %d redirects", counted, tr.Dropped(), b.N)
	}
}

// serverQuantile is the q-quantile of the handler's own latency
// (tidings_redirect_duration_seconds), as the upper bound of the bucket
// it falls in: what the server spends, without the clients' queueing.
func serverQuantile(b *testing.B, reg *prometheus.Registry, q float64) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "tidings_redirect_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		want := q * float64(h.GetSampleCount())
		for _, bk := range h.GetBucket() {
			if float64(bk.GetCumulativeCount()) >= want {
				return bk.GetUpperBound()
			}
		}
	}
	return math.Inf(1)
}
