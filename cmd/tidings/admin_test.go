package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// adminDaemon runs the daemon in-process as `serve --http HTTP
// --admin-http ADMIN` on a database holding the list keji and an API
// token; it returns the token and stops the daemon (checking a clean
// exit) when the test ends.
func adminDaemon(t *testing.T, httpAddr, adminAddr string) (token string) {
	t.Helper()
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	a, env, errb := daemonApp(t, sink)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	token = strings.TrimSpace(mustRunCLI(t, env, "token", "add", "ci", "--role", "editor"))
	a.cfg.HTTPAddr, a.cfg.AdminHTTP = httpAddr, adminAddr

	started := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		result <- a.runDaemon(ctx, daemonOptions{shutdownTimeout: 5 * time.Second, started: func(addr string) { started <- addr }})
	}()
	select {
	case <-started:
	case err := <-result:
		cancel()
		t.Fatalf("daemon did not start: %v; log:\n%s", err, errb.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("daemon not started after 30 s; log:\n%s", errb.String())
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-result:
			if err != nil {
				t.Errorf("daemon shutdown: %v; log:\n%s", err, errb.String())
			}
		case <-time.After(20 * time.Second):
			t.Errorf("daemon still running 20 s after cancel")
		}
	})
	return token
}

// status GETs url without following redirects; bearer, when set, goes
// in the Authorization header.
func status(t *testing.T, url, bearer string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type routeCheck struct {
	url, bearer string
	want        int // 0: anything but 404 and 5xx
	body        string
}

func checkRoutes(t *testing.T, checks []routeCheck) {
	t.Helper()
	for _, c := range checks {
		code, body := status(t, c.url, c.bearer)
		switch {
		case c.want == 0 && (code == http.StatusNotFound || code >= 500):
			t.Errorf("GET %s: %d, want it served", c.url, code)
		case c.want != 0 && code != c.want:
			t.Errorf("GET %s: %d, want %d\n%.300s", c.url, code, c.want, body)
		case c.body != "" && !strings.Contains(body, c.body):
			t.Errorf("GET %s: body lacks %q:\n%.300s", c.url, c.body, body)
		}
	}
}

func TestAdminListenerSeparateFromReaders(t *testing.T) {
	reader, admin := freeAddr(t), freeAddr(t)
	token := adminDaemon(t, reader, admin)
	r, ad := "http://"+reader, "http://"+admin
	checkRoutes(t, []routeCheck{
		// The console and the API answer on --admin-http …
		{url: ad + "/api/v1/openapi.json", want: 200, body: `"openapi"`},
		{url: ad + "/admin/"},
		{url: ad + "/api/v1/lists", bearer: token, want: 200, body: `"keji"`},
		{url: ad + "/api/v1/lists", want: 401},
		{url: ad + "/api/v1/lists", bearer: "tdg_forged", want: 401},
		{url: ad + "/", want: http.StatusSeeOther},
		// … and not on --http,
		{url: r + "/admin/", want: 404},
		{url: r + "/api/v1/openapi.json", want: 404},
		{url: r + "/api/v1/lists", bearer: token, want: 404},
		// where the reader pages are, and only there.
		{url: r + "/keji/subscribe", want: 200},
		{url: r + "/healthz", want: 200},
		{url: ad + "/keji/subscribe", want: 404},
		{url: ad + "/keji/archive", want: 404},
	})
}

func TestAdminListenerSharedWhenSameAddress(t *testing.T) {
	addr := freeAddr(t)
	// The same socket spelled differently is still one listener (two
	// would fail with "address already in use").
	token := adminDaemon(t, addr, strings.Replace(addr, "127.0.0.1", "localhost", 1))
	u := "http://" + addr
	checkRoutes(t, []routeCheck{
		{url: u + "/api/v1/openapi.json", want: 200, body: `"openapi"`},
		{url: u + "/admin/"},
		{url: u + "/api/v1/lists", bearer: token, want: 200, body: `"keji"`},
		{url: u + "/keji/subscribe", want: 200},
		{url: u + "/healthz", want: 200},
	})
}

func TestAdminListenFailureIsReported(t *testing.T) {
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	a, _, _ := daemonApp(t, sink)
	a.cfg.HTTPAddr, a.cfg.AdminHTTP = freeAddr(t), "256.0.0.1:1"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = a.runDaemon(ctx, daemonOptions{})
	if err == nil || !strings.Contains(err.Error(), "--admin-http") {
		t.Fatalf("runDaemon with an unusable --admin-http: %v", err)
	}
}

func TestSameAddr(t *testing.T) {
	for _, c := range []struct {
		x, y string
		same bool
	}{
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"localhost:8080", "127.0.0.1:8080", true},
		{"LOCALHOST:8080", "127.0.0.1:8080", true},
		{":8080", "0.0.0.0:8080", true},
		{"[::]:8080", ":8080", true},
		{" 127.0.0.1:8080 ", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "127.0.0.1:8081", false},
		{"10.0.0.1:8080", "127.0.0.1:8080", false},
	} {
		if got := sameAddr(c.x, c.y); got != c.same {
			t.Errorf("sameAddr(%q, %q) = %v, want %v", c.x, c.y, got, c.same)
		}
	}
}

func TestForwardedForOnlyWhenTrusted(t *testing.T) {
	var seen string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr })
	for _, c := range []struct {
		trust bool
		xff   []string
		want  string
	}{
		{false, []string{"203.0.113.9"}, "192.0.2.1:1234"},
		{true, []string{"203.0.113.9"}, "203.0.113.9:0"},
		{true, []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9:0"}, // the proxy's own entry is the last
		{true, []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9:0"},
		{true, []string{"not an ip"}, "192.0.2.1:1234"},
		{true, nil, "192.0.2.1:1234"},
	} {
		req := httptest.NewRequest("GET", "/admin/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		for _, v := range c.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		forwardedFor(c.trust, h).ServeHTTP(httptest.NewRecorder(), req)
		if seen != c.want {
			t.Errorf("trust=%v X-Forwarded-For %q: client %q, want %q", c.trust, c.xff, seen, c.want)
		}
	}
}

// TestAdminListenerProcess: a real `tidings serve`, the admin address
// from the environment, both listeners up and both shut down on SIGTERM
// with exit 0.
func TestAdminListenerProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildTidings(t)
	env := testEnv(t)
	reader, admin := freeAddr(t), freeAddr(t)
	c := &serveChild{stderr: &syncBuffer6{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "serve", "--db", env["TIDINGS_DB"], "--outbox", filepath.Join(t.TempDir(), "outbox"),
		"--http", reader, "--log-format", "json")
	c.cmd.Env = childEnv("TIDINGS_ADMIN_HTTP="+admin, "TIDINGS_ADMIN_URL=https://admin.example.org")
	c.cmd.Stdout, c.cmd.Stderr = c.stderr, c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill(t) })
	c.waitFor(t, "the admin listener", 20*time.Second, func() bool {
		code, _, _ := httpGet("http://" + admin + "/api/v1/openapi.json")
		return code == http.StatusOK
	})
	checkRoutes(t, []routeCheck{
		{url: "http://" + admin + "/admin/"},
		{url: "http://" + reader + "/healthz", want: 200},
		{url: "http://" + reader + "/api/v1/openapi.json", want: 404},
		{url: "http://" + admin + "/healthz", want: 404},
	})
	if log := c.stderr.String(); !strings.Contains(log, `"admin_http":"`+admin+`"`) || !strings.Contains(log, "https://admin.example.org/admin/") {
		t.Errorf("the log does not say where the console is:\n%s", log)
	}
	if code := c.stop(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM; log:\n%s", code, c.stderr.String())
	}
}
