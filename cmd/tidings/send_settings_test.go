package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
)

// A send keeps its operator's settings across processes (issue 13 item
// 1), with two real processes (`tidings serve`, `tidings send`) and two
// SMTP servers: relay A is the daemon's (no DKIM key), relay B and a key
// the CLI's. Whoever starts the send decides how every message of it goes
// out; the other process never sends any of it, and says why.
func TestSendKeepsItsOperatorsSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two processes")
	}
	bin := buildTidings(t)
	t.Run("CLI send beside a daemon with other settings", func(t *testing.T) { testCLISendBesideDaemon(t, bin) })
	t.Run("CLI refused while the daemon sends", func(t *testing.T) { testCLIRefusedWhileDaemonSends(t, bin) })
}

// settingsWorld is a database with a list, readers and an issue, a DKIM
// key on disk, and the daemon's and the CLI's relays.
type settingsWorld struct {
	env     map[string]string
	id      string
	keyPath string
	records map[string]string
	readers int
}

func newSettingsWorld(t *testing.T, readers int) *settingsWorld {
	t.Helper()
	w := &settingsWorld{env: testEnv(t), readers: readers}
	mustRunCLI(t, w.env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	var csv strings.Builder
	for i := range readers {
		fmt.Fprintf(&csv, "reader%02d@example.com\n", i)
	}
	mustRunCLI(t, w.env, "sub", "import", writeTestFile(t, "subs.csv", []byte(csv.String())))
	w.id = strings.TrimSpace(mustRunCLI(t, w.env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md"))
	pemKey, txt, err := mailer.GenerateDKIMKey("rsa")
	if err != nil {
		t.Fatal(err)
	}
	w.keyPath = writeTestFile(t, "s1.pem", pemKey)
	w.records = map[string]string{"s1._domainkey.example.org": txt}
	return w
}

// cliSend runs `tidings send ID` as its own process with relay and key.
func (w *settingsWorld) cliSend(t *testing.T, bin, relay string, key bool) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "send", w.id)
	env := []string{"TIDINGS_DB=" + w.env["TIDINGS_DB"], "TIDINGS_SMTP_URL=" + relay,
		"TIDINGS_BASE_URL=https://news.example.org", "TIDINGS_CONCURRENCY=2", "TIDINGS_LOG_FORMAT=json", "TIDINGS_SEND_POLL=50ms"}
	if key {
		env = append(env, "TIDINGS_DKIM_KEY="+w.keyPath, "TIDINGS_DKIM_SELECTOR=s1")
	}
	cmd.Env = childEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code <= 0 {
		t.Fatalf("tidings send: %v", err)
	}
	return out.String(), errb.String(), code
}

func (w *settingsWorld) serve(t *testing.T, bin, relay string) *serveChild {
	t.Helper()
	httpAddr := freeAddr(t)
	srv := startServe(t, bin, "--db", w.env["TIDINGS_DB"], "--smtp-url", relay, "--base-url", "https://news.example.org",
		"--http", httpAddr, "--log-format", "json", "--concurrency", "2")
	srv.waitFor(t, "/healthz", 20*time.Second, func() bool {
		code, _, _ := httpGet("http://" + httpAddr + "/healthz")
		return code == 200
	})
	return srv
}

// signedBy reports whether msg carries one DKIM signature that verifies
// with the world's key.
func (w *settingsWorld) signedBy(msg []byte) error {
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
		if v, ok := w.records[name]; ok {
			return []string{v}, nil
		}
		return nil, fmt.Errorf("no TXT record for %s", name)
	}})
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return fmt.Errorf("%d signatures", len(vs))
	}
	return vs[0].Err
}

// The daemon (relay A, no key) sees the issue the CLI (relay B, key)
// started and refuses to claim any of it: every message leaves through B,
// signed, and the daemon's log names the difference.
func testCLISendBesideDaemon(t *testing.T, bin string) {
	// More readers than one claim batch (32), so a daemon that joined in
	// would find rows to take.
	w := newSettingsWorld(t, 120)
	sinkA, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sinkA.Close()
	srv := w.serve(t, bin, "smtp://"+sinkA.Addr+"?tls=none")

	// B holds its first message until the daemon has looked at the send
	// and refused it, so the two processes certainly overlap.
	var once sync.Once
	sinkB, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		once.Do(func() {
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) && !strings.Contains(srv.stderr.String(), "send settings differ") {
				time.Sleep(50 * time.Millisecond)
			}
		})
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sinkB.Close()

	out, errs, code := w.cliSend(t, bin, "smtp://"+sinkB.Addr+"?tls=none", true)
	if code != 0 {
		t.Fatalf("tidings send: exit %d\n%s\ndaemon log:\n%s", code, errs, srv.stderr.String())
	}
	if !strings.Contains(out, fmt.Sprintf("%d sent", w.readers)) {
		t.Errorf("CLI output %q", out)
	}
	if n := sinkA.Count(); n != 0 {
		t.Errorf("%d messages left through the daemon's relay A", n)
	}
	per := map[string]int{}
	for _, m := range sinkB.Messages() {
		per[m.To[0]]++
		if err := w.signedBy(m.Data); err != nil {
			t.Errorf("message to %s through B: DKIM %v", m.To[0], err)
		}
	}
	for i := range w.readers {
		if a := fmt.Sprintf("reader%02d@example.com", i); per[a] != 1 {
			t.Errorf("%s got %d copies through B", a, per[a])
		}
	}
	log := srv.stderr.String()
	if !strings.Contains(log, "send settings differ") || !strings.Contains(log, sinkB.Addr) || !strings.Contains(log, "DKIM: the send's process s1 d=example.org sha256:") {
		t.Errorf("the daemon's log does not say why it left the send alone:\n%s", log)
	}
	if code := srv.stop(t); code != 0 {
		t.Errorf("serve exit %d", code)
	}
}

// The daemon is sending (relay A, no key) when the CLI asks for relay B
// and a key: the CLI refuses in one line naming the daemon and the
// difference, sends nothing, and the daemon finishes the send through A.
func testCLIRefusedWhileDaemonSends(t *testing.T, bin string) {
	w := newSettingsWorld(t, 12)
	stuck := make(chan struct{})
	var release sync.Once
	defer release.Do(func() { close(stuck) })
	inData := make(chan struct{}, 100)
	sinkA, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error {
		inData <- struct{}{}
		<-stuck
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sinkA.Close()
	sinkB, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sinkB.Close()
	srv := w.serve(t, bin, "smtp://"+sinkA.Addr+"?tls=none")
	mustRunCLI(t, w.env, "schedule", "add", w.id, "--at", "+1s")
	select {
	case <-inData:
	case <-time.After(30 * time.Second):
		t.Fatalf("the daemon did not start sending; log:\n%s", srv.stderr.String())
	}

	_, errs, code := w.cliSend(t, bin, "smtp://"+sinkB.Addr+"?tls=none", true)
	if code != 1 {
		t.Errorf("tidings send beside a daemon with other settings: exit %d, want 1\n%s", code, errs)
	}
	for _, want := range []string{"send settings differ", "is sending it now", sinkA.Addr, sinkB.Addr, "DKIM: the send's none"} {
		if !strings.Contains(errs, want) {
			t.Errorf("refusal lacks %q:\n%s", want, errs)
		}
	}
	if n := sinkB.Count(); n != 0 {
		t.Errorf("%d messages left through the CLI's relay B", n)
	}
	release.Do(func() { close(stuck) })
	srv.waitFor(t, "issue sent", 60*time.Second, func() bool { return dbIssueStatus(t, w.env["TIDINGS_DB"], w.id) == "sent" })
	if n := sinkA.Count(); n != w.readers {
		t.Errorf("relay A got %d messages, want %d", n, w.readers)
	}
	for _, m := range sinkA.Messages() {
		if bytes.Contains(m.Data, []byte("DKIM-Signature:")) {
			t.Errorf("message to %s through A is signed", m.To[0])
		}
	}
	if sinkB.Count() != 0 {
		t.Errorf("relay B got %d messages", sinkB.Count())
	}
	srv.stop(t)
}
