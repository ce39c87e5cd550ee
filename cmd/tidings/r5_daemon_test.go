package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
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
	stuck := make(chan struct{})
	inData := make(chan struct{}, 100)
	sink, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		inData <- struct{}{}
		<-stuck
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	a, env, errb := daemonApp(t, sink)
	// Cleanups run last-in first-out: free the stuck transaction first.
	t.Cleanup(func() { close(stuck) })
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	mustRunCLI(t, env, "sub", "import", writeTestFile(t, "subs.csv", []byte("a@example.org\nb@example.org\n")))
	id := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md"))
	mustRunCLI(t, env, "schedule", "add", id, "--at", "+1s")

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
