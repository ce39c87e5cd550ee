package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/internal/testpeers"
	"github.com/tidings/tidings/smtpsink"
)

// buildTidings compiles the command into t.TempDir() for process tests.
func buildTidings(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tidings")
	// Bounded: a build stuck behind a lock must fail the test, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// childEnv is a serveChild's environment without the developer's TIDINGS_*.
func childEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TZ=UTC"}
	return append(env, extra...)
}

// freeAddr is a loopback address free a moment ago, for a child's --http.
func freeAddr(t *testing.T) string {
	t.Helper()
	return testpeers.FreeAddr(t)
}

// syncBuffer6 collects a serveChild's output from its copying goroutine.
type syncBuffer6 struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuffer6) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncBuffer6) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type serveChild struct {
	cmd    *exec.Cmd
	stderr *syncBuffer6
	exited chan struct{} // closed once the process has exited; err is Wait's result then
	err    error
}

func startServe(t *testing.T, bin string, args ...string) *serveChild {
	t.Helper()
	c := &serveChild{stderr: &syncBuffer6{}, exited: make(chan struct{})}
	// Each child its own console listener: the default 127.0.0.1:8081
	// would be taken by the first of several.
	if !slices.Contains(args, "--admin-http") {
		args = append(args, "--admin-http", freeAddr(t))
	}
	c.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	c.cmd.Env = childEnv()
	c.cmd.Stdout = c.stderr
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.exited) }()
	// Whatever happens to the test, the child does not outlive it.
	t.Cleanup(func() { c.kill(t) })
	return c
}

// kill ends the child at once if it still runs, and waits (bounded) for it.
func (c *serveChild) kill(t *testing.T) {
	select {
	case <-c.exited:
		return
	default:
	}
	c.cmd.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("serve (pid %d) still running 10 s after SIGKILL", c.cmd.Process.Pid)
	}
}

// stop sends SIGTERM and returns the exit code.
func (c *serveChild) stop(t *testing.T) int {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		var ee *exec.ExitError
		if errors.As(c.err, &ee) {
			return ee.ExitCode()
		}
		if c.err != nil {
			t.Fatal(c.err)
		}
		return 0
	case <-time.After(60 * time.Second):
		c.kill(t)
		t.Fatalf("serve did not stop within 60 s after SIGTERM; log:\n%s", c.stderr.String())
		return -1
	}
}

// waitFor polls ok every 50 ms until it holds, failing the test after
// timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	waitForLog(t, what, timeout, ok, nil)
}

// waitForLog is waitFor that shows log() (a daemon's output) on failure,
// and also fails at once when exited is closed: a dead daemon will not
// make ok true.
func waitForLog(t *testing.T, what string, timeout time.Duration, ok func() bool, log func() string, exited ...<-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		gone := false
		for _, e := range exited {
			select {
			case <-e:
				gone = true
			default:
			}
		}
		if gone || time.Now().After(deadline) {
			why := fmt.Sprintf("timed out after %s", timeout)
			if gone {
				why = "the daemon exited"
			}
			if log != nil {
				t.Fatalf("waiting for %s: %s; log:\n%s", what, why, log())
			}
			t.Fatalf("waiting for %s: %s", what, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor is waitForLog with this child's log and exit.
func (c *serveChild) waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	waitForLog(t, what, timeout, ok, c.stderr.String, c.exited)
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// dbIssueStatus reads an issue's status from the database a daemon uses;
// the handle is opened once per test and path, not at every poll.
func dbIssueStatus(t *testing.T, dbPath, id string) string {
	t.Helper()
	key := t.Name() + "\x00" + dbPath
	v, ok := testDBs.Load(key)
	if !ok {
		d, err := db.Open(context.Background(), dbPath)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { testDBs.Delete(key); d.Close() })
		testDBs.Store(key, d)
		v = d
	}
	d := v.(*db.DB)
	var s string
	if err := d.R.QueryRow(`SELECT status FROM issues WHERE id = ?`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

var testDBs sync.Map // t.Name() + path → *db.DB, for dbIssueStatus

func TestServeRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no smtp", []string{"serve", "--base-url", "https://news.example.org"}, "--smtp-url"},
		{"bad smtp", []string{"serve", "--smtp-url", "http://mail.example.org", "--base-url", "https://news.example.org"}, "http://mail.example.org"},
		{"no base", []string{"serve", "--smtp-url", "smtp://127.0.0.1:2525"}, "--base-url"},
		{"bad base", []string{"serve", "--smtp-url", "smtp://127.0.0.1:2525", "--base-url", "news.example.org"}, `"news.example.org"`},
		{"bad grace env", []string{"serve", "--smtp-url", "smtp://127.0.0.1:2525", "--base-url", "https://n.example.org"}, "TIDINGS_GRACE"},
		{"negative grace", []string{"serve", "--grace", "-1h", "--smtp-url", "smtp://127.0.0.1:2525", "--base-url", "https://n.example.org"}, "--grace"},
		{"bad log format", []string{"serve", "--smtp-url", "smtp://127.0.0.1:2525", "--base-url", "https://n.example.org", "--log-format", "xml"}, "xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t)
			env["TIDINGS_GRACE"] = "soon"
			if tc.name != "bad grace env" {
				delete(env, "TIDINGS_GRACE")
			}
			_, errs, code := runCLI(t, env, "", tc.args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 mentioning %q", code, errs, tc.want)
			}
		})
	}
}

// TestDaemonProcesses runs the built binary as serveChild processes (one
// build for all): serve with a schedule and a SIGTERM mid-send, two
// daemons on one database, demo --once, and a second SIGTERM cutting a
// shutdown short.
func TestDaemonProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("process tests: -short")
	}
	bin := buildTidings(t)
	t.Run("serve", func(t *testing.T) { testServeProcess(t, bin) })
	t.Run("standby", func(t *testing.T) { testServeStandbyTakesOver(t, bin) })
	t.Run("demo", func(t *testing.T) { testDemoOnce(t, bin) })
	t.Run("demo console", func(t *testing.T) { testDemoConsole(t, bin) })
	t.Run("second signal", func(t *testing.T) { testServeSecondSignal(t, bin) })
}

// testServeProcess runs `tidings serve` as a serveChild process against an
// in-process SMTP server: a schedule added with the CLI one second ahead
// is sent; then a second issue's send is stopped with SIGTERM half-way
// (exit 0), and after a restart it finishes with every reader getting
// exactly one copy.
func testServeProcess(t *testing.T, bin string) {
	env := testEnv(t)
	dbPath := env["TIDINGS_DB"]
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh", "--tz", "Asia/Shanghai")
	var csv strings.Builder
	const readers = 40
	for i := range readers {
		fmt.Fprintf(&csv, "reader%02d@example.org,Reader %d\n", i, i)
	}
	mustRunCLI(t, env, "sub", "import", writeTestFile(t, "subs.csv", []byte(csv.String())))
	sample, err := os.ReadFile("../../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		t.Fatal(err)
	}
	first := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", writeTestFile(t, "7.md", sample)))
	second := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", writeTestFile(t, "8.md", bytes.ReplaceAll(sample, []byte("第7期"), []byte("第8期")))))

	var slow atomic.Bool
	sink, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		if slow.Load() {
			time.Sleep(150 * time.Millisecond)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	httpAddr := freeAddr(t)
	args := []string{"--db", dbPath, "--smtp-url", "smtp://" + sink.Addr + "?tls=none", "--base-url", "http://" + httpAddr,
		"--http", httpAddr, "--log-format", "json", "--concurrency", "2"}
	srv := startServe(t, bin, args...)
	srv.waitFor(t, "/healthz", 20*time.Second, func() bool {
		code, _, _ := httpGet("http://" + httpAddr + "/healthz")
		return code == http.StatusOK
	})

	// A schedule added by the CLI while the daemon runs, one second ahead.
	mustRunCLI(t, env, "schedule", "add", first, "--at", "+1s")
	if !sink.Wait(readers, 30*time.Second) {
		t.Fatalf("got %d of %d messages; log:\n%s", sink.Count(), readers, srv.stderr.String())
	}
	srv.waitFor(t, "issue 1 sent", 20*time.Second, func() bool { return dbIssueStatus(t, dbPath, first) == "sent" })
	code, health, _ := httpGet("http://" + httpAddr + "/healthz")
	if code != 200 || !strings.Contains(health, `"status":"ok"`) || !strings.Contains(health, `"role":"sender"`) {
		t.Errorf("/healthz = %d %s", code, health)
	}
	code, metrics, _ := httpGet("http://" + httpAddr + "/metrics")
	for _, want := range []string{`tidings_messages_sent_total{list="keji"} 40`, `tidings_queue_depth{list="keji"} 0`,
		`tidings_sender_leader 1`, `tidings_send_duration_seconds_count{list="keji",outcome="done"} 1`, "tidings_last_successful_send_timestamp_seconds"} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The second issue, slowly; SIGTERM half-way.
	sink.Reset()
	slow.Store(true)
	mustRunCLI(t, env, "schedule", "add", second, "--at", "+1s")
	if !sink.Wait(5, 30*time.Second) {
		t.Fatalf("second send did not start; log:\n%s", srv.stderr.String())
	}
	if code := srv.stop(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; log:\n%s", code, srv.stderr.String())
	}
	atStop := sink.Count()
	if atStop >= readers {
		t.Fatalf("the send finished before SIGTERM (%d messages): nothing was interrupted", atStop)
	}
	if log := srv.stderr.String(); !strings.Contains(log, `"msg":"stopped cleanly"`) || !strings.Contains(log, `"level":"INFO"`) {
		t.Errorf("log is not JSON or lacks the clean stop:\n%s", log)
	}
	if st := dbIssueStatus(t, dbPath, second); st != "sending" {
		t.Fatalf("issue after stop: %q, want sending", st)
	}

	// Restart: the interrupted send resumes and completes.
	slow.Store(false)
	srv2 := startServe(t, bin, args...)
	srv2.waitFor(t, "issue 2 sent", 60*time.Second, func() bool { return dbIssueStatus(t, dbPath, second) == "sent" })
	if code := srv2.stop(t); code != 0 {
		t.Errorf("second daemon exit %d; log:\n%s", code, srv2.stderr.String())
	}
	per := map[string]int{}
	for _, m := range sink.Messages() {
		per[m.To[0]]++
	}
	for i := range readers {
		addr := fmt.Sprintf("reader%02d@example.org", i)
		if per[addr] != 1 {
			t.Errorf("%s got %d copies of issue 2", addr, per[addr])
		}
	}
	t.Logf("SIGTERM after %d of %d messages; restart sent the rest", atStop, readers)
}

// testServeStandbyTakesOver runs two daemons on one database: only one
// holds the sender role; when it is stopped, the standby takes over.
func testServeStandbyTakesOver(t *testing.T, bin string) {
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>")
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	start := func() (*serveChild, string) {
		addr := freeAddr(t)
		c := startServe(t, bin, "--db", env["TIDINGS_DB"], "--smtp-url", "smtp://"+sink.Addr+"?tls=none",
			"--base-url", "http://"+addr, "--http", addr, "--log-format", "json")
		return c, addr
	}
	role := func(addr string) string {
		_, body, _ := httpGet("http://" + addr + "/healthz")
		return body
	}
	a, addrA := start()
	a.waitFor(t, "A sends", 20*time.Second, func() bool { return strings.Contains(role(addrA), `"role":"sender"`) })
	b, addrB := start()
	b.waitFor(t, "B up", 20*time.Second, func() bool { return strings.Contains(role(addrB), `"role":"standby"`) })
	time.Sleep(2 * time.Second) // B keeps polling: still standby
	if !strings.Contains(role(addrB), `"role":"standby"`) {
		t.Fatalf("two senders: B = %s", role(addrB))
	}
	if code := a.stop(t); code != 0 {
		t.Errorf("A exit %d", code)
	}
	// A released its lease at stop: B takes over at its next poll.
	b.waitFor(t, "B takes over", 20*time.Second, func() bool { return strings.Contains(role(addrB), `"role":"sender"`) })
	if code := b.stop(t); code != 0 {
		t.Errorf("B exit %d; log:\n%s", code, b.stderr.String())
	}
}

func testDemoOnce(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "demo")
	run := func(args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = childEnv()
		cmd.Dir = t.TempDir()
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(90 * time.Second):
			cmd.Process.Kill()
			<-done // the output buffers are written until Wait returns
			t.Fatalf("demo did not finish in 90 s:\n%s\n%s", out.String(), errb.String())
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	for i := range 2 { // the second run reuses (and refreshes) the folder
		out, errs, code := run("demo", "--once", "--dir", dir)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s\n%s", i+1, code, out, errs)
		}
		// The daemon's routine log lines are not shown: a clean run has an
		// empty stderr.
		if errs != "" {
			t.Errorf("run %d: stderr is not empty:\n%s", i+1, errs)
		}
		// READER  NAME  TOPICS  ARTICLES, columns two or more spaces apart.
		rows := map[string][]string{}
		for _, line := range strings.Split(out, "\n") {
			cols := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
			if len(cols) == 4 && strings.Contains(cols[0], "@example.") {
				rows[cols[0]] = cols
			}
		}
		if len(rows) != 31 {
			t.Errorf("run %d: %d reader rows, want 31", i+1, len(rows))
		}
		for email, want := range map[string][2]string{
			"wang.fang@example.cn":     {"all", "1 2 3 4 5"},
			"li.na@example.cn":         {"养老科技", "1"},
			"zhang.wei@example.com":    {"生物医药", "2"},
			"liu.yang@example.net":     {"成果转化", "3 4 5"},
			"chen.jing@example.org":    {"独角兽与科创", "4"},
			"yang.min@example.cn":      {"新质生产力", "2 4 5"},
			"huang.li@example.cn":      {"养老科技, 生物医药", "1 2"},
			"liang.hui@example.cn":     {"养老科技, 芯片与半导体", "1"},
			"ada.lovelace@example.org": {"生物医药", "2"},
		} {
			if r := rows[email]; r == nil || r[2] != want[0] || r[3] != want[1] {
				t.Errorf("run %d: row of %s = %q, want topics %q and articles %q", i+1, email, r, want[0], want[1])
			}
		}
		for _, want := range []string{
			"1. 推动“科技”与“养老”深度融合！《上海市推进养老科技创新发展行动方案（2024-2027年）》正式发布  [养老科技]",
			"2. 南京市以科技创新驱动提升生物医药产业能级  [生物医药, 新质生产力]",
			"3. 滁州市链式推动企业科技成果转化  [成果转化]",
			"4. 扬州聚力打造长三角产业科创高地  [成果转化, 独角兽与科创, 新质生产力]",
			"5. 宁波：探索创新“研发加速器”增值服务 助力新质生产力发展  [成果转化, 新质生产力]",
			"Sent 31 messages", "Nothing sent to:", "zhao.lei@example.com (no article of 芯片与半导体",
			"han.mei@example.org (chose no topic)", "xu.jing@example.cn (pending)", "lu.di@example.cn (unsubscribed)", "/outbox", "/keji/archive/7", "--once: done."} {
			if !strings.Contains(out, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, out)
			}
		}
	}
	// A folder with someone else's files is refused, and left alone.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "thesis.tex"), []byte("x"), 0o644)
	_, errs, code := run("demo", "--once", "--dir", other)
	if code != 1 || !strings.Contains(errs, "thesis.tex") {
		t.Errorf("foreign folder: exit %d, %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(other, "thesis.tex")); err != nil {
		t.Errorf("foreign file touched: %v", err)
	}
}

// TestServeOutbox runs serve in-process with --outbox: nothing needs an
// SMTP relay or base URL, each message lands in DIR as an .eml file, the
// log says so loudly, and cancelling the context (what SIGINT does in
// main) stops it with exit status 0.
func TestServeOutbox(t *testing.T) {
	env := testEnv(t)
	id := seedScheduled(t, env, "a@example.org\nb@example.org\nc@example.org\n")
	dir := filepath.Join(t.TempDir(), "outbox")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errb := &syncBuffer6{}
	app := NewApp(strings.NewReader(""), &out, errb, func(k string) string { return env[k] })
	code := make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		code <- app.Run(ctx, []string{"serve", "--outbox", dir, "--http", "127.0.0.1:0", "--log-format", "json"})
	}()
	// On a failure below, the daemon still stops before t.TempDir goes.
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(45 * time.Second):
			t.Errorf("serve still running 45 s after cancel")
		}
	})
	waitForLog(t, "3 .eml files", 30*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		return len(m) == 3
	}, errb.String, exited)
	waitForLog(t, "issue sent", 20*time.Second, func() bool { return dbIssueStatus(t, env["TIDINGS_DB"], id) == "sent" }, errb.String, exited)
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d\n%s", c, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop within 30 s of cancel; log:\n%s", errb.String())
	}
	log := errb.String()
	if !strings.Contains(log, `"level":"WARN","msg":"OUTBOX MODE`) || !strings.Contains(log, "stopped cleanly") {
		t.Errorf("log:\n%s", log)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !bytes.Contains(b, []byte("\r\nSubject: ")) || !strings.Contains(f, "@example.org") {
			t.Errorf("%s is not the message: %.200q", f, b)
		}
	}
}
