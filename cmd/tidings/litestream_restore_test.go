package main

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/smtpsink"
)

// The restore test's pace and Litestream's intervals. The bound on
// duplicates is derived from them (see TestLitestreamRestoreResumesSend
// and the README's Scaling section).
const (
	lsReaders     = 400
	lsConcurrency = 2
	// lsSinkDelay stalls each DATA reply: at most lsConcurrency/lsSinkDelay
	// messages a second (80) however fast the machine, so the kill lands
	// mid-send and the bound below is a number, not a guess.
	lsSinkDelay = 25 * time.Millisecond
	// Litestream looks at the WAL every lsMonitor and ships to the replica
	// every lsSync; a commit reaches the replica within their sum.
	lsMonitor = 100 * time.Millisecond
	lsSync    = 100 * time.Millisecond
	// lsSlack is what a busy 2-core machine adds to that (scheduling,
	// fsync of the replica's files); measured lags here were well under it.
	lsSlack = 800 * time.Millisecond
	// lsKillAt: the machine is "lost" once this many messages arrived.
	lsKillAt = 150
)

// TestLitestreamRestoreResumesSend is the warm-standby story end to end
// with real processes: a tidings database replicated by `litestream
// replicate` to a file replica; `tidings serve` sending an issue to 400
// readers through a slow sink; both processes SIGKILLed mid-send (the
// machine is lost, so Litestream gets no last sync); `litestream restore`
// from the replica into a new file; `tidings serve` on the restored file
// finishes the send.
//
// What may be sent twice is exactly what the replica had not yet heard
// was sent: messages the sink accepted after the last commit Litestream
// shipped, plus those inside an SMTP transaction at the kill. The test
// checks that every duplicate is such a message, and that their number
// stays within rate × replication lag + connections:
//
//	bound = ⌈(C / sinkDelay) × (monitor + sync + slack)⌉ + C
//	      = ⌈80/s × 1 s⌉ + 2 = 82
//
// Every reader must have the issue at the end.
func TestLitestreamRestoreResumesSend(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: -short")
	}
	ls := testpeers.Litestream(t)
	bin := buildTidings(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "t.db")
	replica := filepath.Join(dir, "replica")
	restored := filepath.Join(dir, "restored.db")

	env := map[string]string{"TIDINGS_DB": dbPath, "TIDINGS_ADMIN_HTTP": "127.0.0.1:0"}
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	var csv strings.Builder
	for i := range lsReaders {
		fmt.Fprintf(&csv, "reader%03d@example.org,Reader %d\n", i, i)
	}
	mustRunCLI(t, env, "sub", "import", writeTestFile(t, "subs.csv", []byte(csv.String())))
	issue := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md"))

	// got counts copies per reader as the sink accepts them (before the
	// stalled reply: a copy whose 250 the killed sender never read counts).
	var mu sync.Mutex
	got := map[string]int{}
	var first time.Time
	sink, err := smtpsink.Start(smtpsink.Options{Discard: true, OnData: func(_ string, to []string, _ []byte) error {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		got[to[0]]++
		mu.Unlock()
		time.Sleep(lsSinkDelay)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	received := func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		m := make(map[string]int, len(got))
		for k, v := range got {
			m[k] = v
		}
		return m
	}

	// Litestream, replicating from before the send starts.
	cfg := fmt.Sprintf("dbs:\n  - path: %s\n    monitor-interval: %s\n    replica:\n      type: file\n      path: %s\n      sync-interval: %s\n",
		dbPath, lsMonitor, replica, lsSync)
	cfgPath := writeTestFile(t, "litestream.yml", []byte(cfg))
	lsProc := startChild(t, ls, "replicate", "-config", cfgPath)
	lsProc.waitFor(t, "the replica's first snapshot", 30*time.Second, func() bool { return hasLTX(replica) })

	httpAddr := freeAddr(t)
	args := []string{"--smtp-url", "smtp://" + sink.Addr + "?tls=none", "--base-url", "http://" + httpAddr,
		"--http", httpAddr, "--log-format", "json", "--concurrency", fmt.Sprint(lsConcurrency)}
	srv := startServe(t, bin, append([]string{"--db", dbPath}, args...)...)
	srv.waitFor(t, "/healthz", 20*time.Second, func() bool {
		code, _, _ := httpGet("http://" + httpAddr + "/healthz")
		return code == http.StatusOK
	})
	mustRunCLI(t, env, "schedule", "add", issue, "--at", "+1s")
	srv.waitFor(t, fmt.Sprintf("%d messages", lsKillAt), 30*time.Second, func() bool { return sink.Count() >= lsKillAt })

	// The machine is lost: Litestream first, so it cannot ship a last
	// sync of what serve committed, then serve.
	lsProc.kill(t)
	srv.kill(t)
	killedAt := time.Now()
	time.Sleep(2 * lsSinkDelay) // replies stalled in the sink complete
	atKill := received()
	sent := 0
	for _, n := range atKill {
		sent += n
	}
	if sent >= lsReaders {
		t.Fatalf("the send finished before the kill (%d messages)", sent)
	}
	mu.Lock()
	rate := float64(sent) / killedAt.Sub(first).Seconds()
	mu.Unlock()

	// Restore into a new file, as on the standby machine.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, ls, "restore", "-o", restored, "file://"+replica).CombinedOutput()
	if err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	inReplica := sentIn(t, restored, issue)
	if len(inReplica) == 0 {
		t.Fatalf("the replica knew of no sent message (of %d at the kill): nothing was replicated mid-send", sent)
	}
	// What the replica had not heard of: accepted by the sink, not sent in
	// the restored log. Only these may be sent again.
	unknown := map[string]bool{}
	for a := range atKill {
		if !inReplica[a] {
			unknown[a] = true
		}
	}
	for a := range inReplica {
		if atKill[a] == 0 {
			t.Errorf("%s is sent in the replica but the sink never got it", a)
		}
	}

	// serve on the restored file: it takes the sender lease once the dead
	// holder's runs out, and resumes the send.
	srv2 := startServe(t, bin, append([]string{"--db", restored}, args...)...)
	srv2.waitFor(t, "the restored send finishes", 60*time.Second, func() bool { return dbIssueStatus(t, restored, issue) == "sent" })
	finished := time.Since(killedAt)
	if code := srv2.stop(t); code != 0 {
		t.Errorf("restored serve exit %d; log:\n%s", code, srv2.stderr.String())
	}

	final := received()
	dups := 0
	for i := range lsReaders {
		a := fmt.Sprintf("reader%03d@example.org", i)
		switch n := final[a]; {
		case n == 0:
			t.Errorf("%s never got the issue", a)
		case n > 1:
			dups += n - 1
			if !unknown[a] {
				t.Errorf("%s got %d copies but the replica knew its copy was sent", a, n)
			}
		}
	}
	maxRate := float64(lsConcurrency) / lsSinkDelay.Seconds()
	bound := int(maxRate*(lsMonitor+lsSync+lsSlack).Seconds()+0.999) + lsConcurrency
	if dups > bound {
		t.Errorf("%d duplicates; the bound is %d (%.0f msg/s × %v + %d in flight)", dups, bound, maxRate, lsMonitor+lsSync+lsSlack, lsConcurrency)
	}
	lag := time.Duration(float64(len(unknown)) / rate * float64(time.Second))
	t.Logf("killed after %d messages at %.0f msg/s; the replica knew %d sent, %d not (≈ %v of sending); %d duplicates (bound %d); done %v after the kill",
		sent, rate, len(inReplica), len(unknown), lag.Round(10*time.Millisecond), dups, bound, finished.Round(100*time.Millisecond))
}

// sentIn opens a database file and returns the readers whose copy of the
// issue is marked sent.
func sentIn(t *testing.T, path, issue string) map[string]bool {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open restored database: %v", err)
	}
	defer d.Close()
	rows, err := d.R.Query(`SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id
		WHERE d.issue_id = ? AND d.state = 'sent'`, issue)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out[e] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// hasLTX reports whether a Litestream file replica holds a transaction
// file yet.
func hasLTX(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(e.Name(), ".ltx") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// startChild runs another program as a serveChild (its output kept, killed
// when the test ends).
func startChild(t *testing.T, bin string, args ...string) *serveChild {
	t.Helper()
	c := &serveChild{stderr: &syncBuffer6{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Env = childEnv()
	c.cmd.Stdout, c.cmd.Stderr = c.stderr, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill(t) })
	return c
}
