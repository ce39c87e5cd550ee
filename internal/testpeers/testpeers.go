// Package testpeers finds and starts the external programs that tidings'
// end-to-end tests run against: a real Mailpit (SMTP, POP3 and its HTTP
// API) and a real headless Chromium. Tests use the real peers rather than
// fakes, so a missing peer must be loud in the right place: on a
// developer's machine the test skips with a message saying how to install
// the peer, while in CI, which sets TIDINGS_REQUIRE_PEERS=1, the same test
// fails, because a skip there would hide an untested path.
//
// The package is for tests only; it lives under internal/ so that nothing
// outside the module can come to depend on it.
package testpeers

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// RequireEnv is the environment variable that turns a missing peer from a
// skip into a failure; CI sets it to "1".
const RequireEnv = "TIDINGS_REQUIRE_PEERS"

// MailpitHint and ChromiumHint say how to install each peer; they end up in
// the skip or failure message.
const (
	MailpitHint  = "install with go install github.com/axllent/mailpit@v1.33.1"
	ChromiumHint = "install with apt-get install chromium"
	// LitestreamHint: a pinned version, the one the restore test was
	// written against (its config keys and restore URL syntax).
	LitestreamHint = "install with go install github.com/benbjohnson/litestream/cmd/litestream@v0.5.18"
)

// Need reports that the peer what is missing: it skips the test, or fails
// it when TIDINGS_REQUIRE_PEERS=1. The message is "WHAT not found: HINT".
func Need(tb testing.TB, what, hint string) {
	tb.Helper()
	msg := what + " not found: " + hint
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("%s (%s=1, so a missing peer fails)", msg, RequireEnv)
	}
	tb.Skip(msg)
}

// MailpitBinary returns the path of the mailpit binary, looked up in PATH
// and then in $(go env GOPATH)/bin, where `go install` puts it; without it
// the test skips (or fails, see Need).
func MailpitBinary(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	// go itself may be missing from PATH; then only PATH counted.
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(string(bytes.TrimSpace(out))) {
			p := filepath.Join(gp, "bin", "mailpit")
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	Need(tb, "mailpit", MailpitHint)
	return ""
}

// Litestream returns the path of the litestream binary, looked up like
// MailpitBinary's (PATH, then $(go env GOPATH)/bin); without it the test
// skips (or fails, see Need).
func Litestream(tb testing.TB) string {
	tb.Helper()
	if p := goBinary("litestream"); p != "" {
		return p
	}
	Need(tb, "litestream", LitestreamHint)
	return ""
}

// goBinary finds name in PATH or in a $(go env GOPATH)/bin, where
// `go install` puts it; "" when it is in neither.
func goBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	// go itself may be missing from PATH; then only PATH counted.
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(string(bytes.TrimSpace(out))) {
			p := filepath.Join(gp, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	return ""
}

// ChromiumBinary returns the path of the chromium binary found in PATH
// (/usr/bin/chromium on the project's machines); without it the test
// skips (or fails, see Need). Tests that do costly set-up before opening
// the browser call it first, so a skip comes before that work.
func ChromiumBinary(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		Need(tb, "chromium", ChromiumHint)
		return ""
	}
	return p
}

// FreeAddr returns a loopback address (127.0.0.1:port) that was free a
// moment ago, for a peer or child process to listen on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// MailpitOptions configure StartMailpit.
type MailpitOptions struct {
	// POP3User and POP3Pass, when POP3User is set, turn on Mailpit's POP3
	// server with that single account.
	POP3User, POP3Pass string
	// Extra flags are appended to the command line (e.g. --pop3-tls-cert).
	Extra []string
}

// Mailpit is a running Mailpit's loopback addresses.
type Mailpit struct {
	SMTP string // host:port of the SMTP server
	API  string // base URL of the web UI and API, "http://host:port"
	POP3 string // host:port of the POP3 server; "" without POP3User
}

// readyTimeout bounds how long StartMailpit waits for Mailpit to listen.
const readyTimeout = 20 * time.Second

// StartMailpit runs a private Mailpit on free loopback ports with its
// database in a temporary directory, waits until its API answers and its
// SMTP (and POP3) ports accept connections, and kills it when the test
// ends. Messages are never pruned (--max 0) and Mailpit does not look for
// updates (the test machines have no outside network).
func StartMailpit(tb testing.TB, opts MailpitOptions) Mailpit {
	tb.Helper()
	bin := MailpitBinary(tb)
	dir := tb.TempDir()
	httpAddr := FreeAddr(tb)
	m := Mailpit{SMTP: FreeAddr(tb), API: "http://" + httpAddr}
	args := []string{"-d", filepath.Join(dir, "mailpit.db"), "-s", m.SMTP, "-l", httpAddr,
		"--max", "0", "-q", "--disable-version-check"}
	if opts.POP3User != "" {
		auth := filepath.Join(dir, "pop3-auth")
		if err := os.WriteFile(auth, []byte(opts.POP3User+":"+opts.POP3Pass+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
		m.POP3 = FreeAddr(tb)
		args = append(args, "--pop3", m.POP3, "--pop3-auth-file", auth)
	}
	args = append(args, opts.Extra...)

	cmd := exec.Command(bin, args...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	deadline := time.Now().Add(readyTimeout)
	ready := func(what string, ok func() bool) {
		tb.Helper()
		for !ok() {
			select {
			case <-exited:
				tb.Fatalf("mailpit exited before its %s was ready:\n%s", what, logs.String())
			default:
			}
			if time.Now().After(deadline) {
				tb.Fatalf("mailpit's %s not ready within %v:\n%s", what, readyTimeout, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	client := &http.Client{Timeout: time.Second}
	ready("API "+m.API, func() bool {
		resp, err := client.Get(m.API + "/api/v1/messages")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	for _, a := range []string{m.SMTP, m.POP3} {
		if a == "" {
			continue
		}
		ready("listener "+a, func() bool {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		})
	}
	return m
}

// syncBuffer collects a child's output; exec copies into it from its own
// goroutines while a failing test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Browser start-up and step budgets: the first start of Chromium on a
// busy 2-core machine can be slow.
const (
	chromiumStartTimeout = 60 * time.Second
	chromiumStepsTimeout = 90 * time.Second
)

// Chromium starts headless Chromium with a fresh profile and returns a
// chromedp context whose deadline bounds the test's browser steps; the
// browser is closed when the test ends. The flags suit the test machines:
// no sandbox (tests run as root), no GPU, and no background traffic
// (QUIC, component updates, sync) to a network that is not there. extra
// options (window size, …) are added after these.
func Chromium(tb testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumBinary(tb)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(tb.TempDir()),
	}, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancelC(); cancelA() })
	// The first Do starts the browser and must not carry a deadline (that
	// would stop the browser with it); guard it from outside instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			tb.Fatalf("start chromium: %v", err)
		}
	case <-time.After(chromiumStartTimeout):
		tb.Fatalf("chromium did not start within %v", chromiumStartTimeout)
	}
	tctx, cancelT := context.WithTimeout(ctx, chromiumStepsTimeout)
	tb.Cleanup(cancelT)
	return tctx
}
