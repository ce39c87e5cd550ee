package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// daemonApp is an App configured like `serve --smtp-url sink` on a fresh
// database, for calling runDaemon in-process.
func daemonApp(t *testing.T, sink *smtpsink.Server) (*App, map[string]string, *syncBuffer6) {
	t.Helper()
	env := testEnv(t)
	errb := &syncBuffer6{}
	a := NewApp(strings.NewReader(""), io.Discard, errb, func(string) string { return "" })
	a.cfg = Config{DBPath: env["TIDINGS_DB"], SMTPURLs: []string{"smtp://" + sink.Addr + "?tls=none"},
		BaseURL: "http://news.example.org", HTTPAddr: "127.0.0.1:0", Concurrency: 1, LogFormat: "json"}
	t.Cleanup(a.close)
	return a, env, errb
}

// seedScheduled makes a Chinese list with the readers of subsCSV, imports
// the sample issue and schedules it one second ahead; it returns the id.
func seedScheduled(t *testing.T, env map[string]string, subsCSV string) string {
	t.Helper()
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	mustRunCLI(t, env, "sub", "import", writeTestFile(t, "subs.csv", []byte(subsCSV)))
	id := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md"))
	mustRunCLI(t, env, "schedule", "add", id, "--at", "+1s")
	return id
}

// stuckRelay is an SMTP server that never answers DATA until release
// (called at the latest when the test ends); inData says when a message
// is in DATA.
func stuckRelay(t *testing.T) (sink *smtpsink.Server, inData <-chan struct{}, release func()) {
	t.Helper()
	stuck := make(chan struct{})
	data := make(chan struct{}, 100)
	sink, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		data <- struct{}{}
		<-stuck
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { close(stuck) }) }
	t.Cleanup(func() { sink.Close() })
	t.Cleanup(release) // runs before sink.Close
	return sink, data, release
}

// startDaemon runs a.runDaemon with o until the test cancels it; it
// returns the HTTP address, the cancel function and the result.
func startDaemon(t *testing.T, a *App, o daemonOptions, errb *syncBuffer6) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.listener = ln
	started := make(chan string, 1)
	o.started = func(addr string) { started <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- a.runDaemon(ctx, o) }()
	t.Cleanup(cancel)
	select {
	case addr := <-started:
		return addr, cancel, result
	case err := <-result:
		t.Fatalf("daemon did not start: %v; log:\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon not started after 30 s; log:\n%s", errb.String())
	}
	return "", nil, nil
}

// TestDaemonHTTPGracefulShutdown: on cancel (SIGINT/SIGTERM in main) the
// daemon lets an HTTP request in flight finish before it returns, and
// returns nil (exit 0).
func TestDaemonHTTPGracefulShutdown(t *testing.T) {
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	a, _, errb := daemonApp(t, sink)
	entered, release := make(chan struct{}), make(chan struct{})
	var answered atomic.Bool
	addr, cancel, result := startDaemon(t, a, daemonOptions{routes: func(mux *http.ServeMux) {
		mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			io.WriteString(w, "finished")
			answered.Store(true)
		})
	}}, errb)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	resp := make(chan string, 1)
	go func() {
		_, body, err := httpGet("http://" + addr + "/slow")
		if err != nil {
			body = "error: " + err.Error()
		}
		resp <- body
	}()
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("GET /slow never reached its handler")
	}
	cancel()
	// A daemon that does not wait for requests would return now, with
	// the handler still blocked.
	select {
	case err := <-result:
		t.Fatalf("daemon returned (%v) while a request was in flight", err)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("daemon returned %v; log:\n%s", err, errb.String())
		}
		if !answered.Load() {
			t.Fatal("daemon returned before the request in flight was answered")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not return within 30 s of cancel; log:\n%s", errb.String())
	}
	select {
	case body := <-resp:
		if body != "finished" {
			t.Errorf("request in flight at shutdown got %q", body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to the request in flight")
	}
	if log := errb.String(); !strings.Contains(log, `"msg":"stopped cleanly"`) {
		t.Errorf("log lacks the clean stop:\n%s", log)
	}
}

// TestDaemonShutdownIsBounded: a relay that never answers DATA does not
// hold the daemon past --shutdown-timeout (plus the HTTP grace); it stops
// with an error naming the flag, and the send stays resumable.
func TestDaemonShutdownIsBounded(t *testing.T) {
	sink, inData, release := stuckRelay(t)
	a, env, errb := daemonApp(t, sink)
	t.Cleanup(release) // cleanups run last-in first-out: free the relay before the database closes
	id := seedScheduled(t, env, "a@example.org\nb@example.org\n")

	_, cancel, result := startDaemon(t, a, daemonOptions{shutdownTimeout: time.Second}, errb)
	select {
	case <-inData:
	case err := <-result:
		t.Fatalf("daemon stopped (%v) before sending; log:\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the scheduled send never reached DATA; log:\n%s", errb.String())
	}
	cancel()
	// 1 s for the send, then at most 5 s for HTTP and the rest: 30 s
	// means it waited for the stuck transaction.
	select {
	case err := <-result:
		if err == nil || !strings.Contains(err.Error(), "--shutdown-timeout") {
			t.Fatalf("daemon returned %v, want an error naming --shutdown-timeout", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon still waiting 30 s after cancel with --shutdown-timeout 1s; log:\n%s", errb.String())
	}
	if st := dbIssueStatus(t, env["TIDINGS_DB"], id); st != "sending" {
		t.Errorf("issue after a cut shutdown: %q, want sending (resumed at the next start)", st)
	}
}

// testServeSecondSignal (in TestDaemonProcesses): a relay that never
// answers keeps the first SIGTERM waiting (--shutdown-timeout 5m); a
// second signal stops the wait at once, exit 1 with the reason.
func testServeSecondSignal(t *testing.T, bin string) {
	sink, inData, _ := stuckRelay(t)
	env := testEnv(t)
	seedScheduled(t, env, "a@example.org\nb@example.org\n")
	addr := freeAddr(t)
	srv := startServe(t, bin, "--db", env["TIDINGS_DB"], "--smtp-url", "smtp://"+sink.Addr+"?tls=none",
		"--base-url", "http://"+addr, "--http", addr, "--log-format", "json", "--shutdown-timeout", "5m")
	select {
	case <-inData:
	case <-srv.exited:
		t.Fatalf("serve exited before sending; log:\n%s", srv.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the scheduled send never reached DATA; log:\n%s", srv.stderr.String())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.waitFor(t, "the shutdown to start", 20*time.Second, func() bool { return strings.Contains(srv.stderr.String(), "shutting down") })
	// The second signal may race the handler's installation: repeat it.
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-srv.exited:
			done = true
		case <-tick.C:
			srv.cmd.Process.Signal(syscall.SIGTERM)
		case <-deadline:
			t.Fatalf("serve still waiting 20 s after a second SIGTERM; log:\n%s", srv.stderr.String())
		}
	}
	var ee *exec.ExitError
	if !errors.As(srv.err, &ee) || ee.ExitCode() != 1 || !strings.Contains(srv.stderr.String(), "stopped without waiting") {
		t.Errorf("exit %v, want 1 with the reason; log:\n%s", srv.err, srv.stderr.String())
	}
}

// TestDaemonAndCLISendShareTheWork: `tidings send ID` run while the
// daemon is sending the same issue joins in through the delivery log's
// claims; every reader gets exactly one copy.
func TestDaemonAndCLISendShareTheWork(t *testing.T) {
	sink, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		time.Sleep(20 * time.Millisecond) // keep the daemon busy long enough to overlap
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	a, env, errb := daemonApp(t, sink)
	const readers = 30
	var csv strings.Builder
	for i := range readers {
		fmt.Fprintf(&csv, "r%02d@example.org\n", i)
	}
	id := seedScheduled(t, env, csv.String())
	_, _, result := startDaemon(t, a, daemonOptions{}, errb)
	if !sink.Wait(3, 30*time.Second) {
		t.Fatalf("the daemon did not start sending; log:\n%s", errb.String())
	}
	env["TIDINGS_SMTP_URL"] = a.cfg.SMTPURLs[0]
	env["TIDINGS_BASE_URL"] = a.cfg.BaseURL
	env["TIDINGS_CONCURRENCY"] = "2"
	if _, errs, code := runCLI(t, env, "", "send", id); code != 0 {
		t.Fatalf("tidings send beside the daemon: exit %d: %s", code, errs)
	}
	waitForLog(t, "issue sent", 30*time.Second, func() bool { return dbIssueStatus(t, env["TIDINGS_DB"], id) == "sent" }, errb.String)
	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	for i := range readers {
		if addr := fmt.Sprintf("r%02d@example.org", i); per[addr] != 1 {
			t.Errorf("%s got %d copies", addr, per[addr])
		}
	}
	select {
	case err := <-result:
		t.Fatalf("daemon stopped: %v", err)
	default:
	}
}
