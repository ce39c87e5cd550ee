package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestSendSurvivesSIGKILL kills a real `tidings send` child at random
// instants many times, resumes each time, and checks the crash-safety
// promise: after the final run every recipient got the issue, and the
// copies beyond one never exceed one per connection per kill (only a
// message inside an SMTP transaction at the kill can be sent twice).
func TestSendSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it ~20 times")
	}
	const (
		subscribers = 300
		kills       = 20
		concurrency = 4
	)
	bin := filepath.Join(t.TempDir(), "tidings")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	var mu sync.Mutex
	got := map[string]int{}
	// A small delay per message stretches the send over a few hundred
	// milliseconds, so kills land in every phase: preparing the log,
	// between messages, inside DATA. It also caps the pace at 4 × 50 msg/s
	// however fast the machine: the 305 messages need at least 1.5 s of
	// sending, about twenty runs of the 30–180 ms between start and kill,
	// so the kills/2 floor below holds on a fast idle CI machine too.
	sink, err := smtpsink.Start(smtpsink.Options{Discard: true, OnData: func(_ string, to []string, _ []byte) error {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		got[to[0]]++
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	env := testEnv(t)
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	seedSample(t, env)
	var csv strings.Builder
	for i := 0; i < subscribers; i++ {
		topics := []string{"all", "ageing", "biomed;finance", "space"}[i%4]
		fmt.Fprintf(&csv, "reader%03d@example.com,Reader %d,%s\n", i, i, topics)
	}
	mustRunCLI(t, env, "sub", "import", writeTestFile(t, "subs.csv", []byte(csv.String())))

	childEnv := append(os.Environ(),
		"TIDINGS_DB="+env["TIDINGS_DB"],
		"TIDINGS_SMTP_URL=smtp://"+sink.Addr,
		"TIDINGS_BASE_URL=https://news.example.org",
		fmt.Sprintf("TIDINGS_CONCURRENCY=%d", concurrency),
		"TIDINGS_LOG_FORMAT=json",
		"TIDINGS_SEND_POLL=20ms",
	)
	run := func(killAfter time.Duration) (killed bool, out string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "send", "1")
		cmd.Env = childEnv
		var b strings.Builder
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if killAfter > 0 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("send exited before the kill: %v\n%s", err, b.String())
				}
				return false, b.String()
			case <-time.After(killAfter):
				cmd.Process.Kill() // SIGKILL
				<-done             // reaped: the pid is gone for the next run's lease check
				return true, b.String()
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("final send: %v\n%s", err, b.String())
		}
		return false, b.String()
	}

	rng := rand.New(rand.NewPCG(4, 2026))
	start := time.Now()
	n := 0
	for i := 0; i < kills && time.Since(start) < 40*time.Second; i++ {
		if killed, _ := run(time.Duration(30+rng.IntN(150)) * time.Millisecond); killed {
			n++
		} else {
			break // finished before the kill: nothing left to crash
		}
	}
	_, out := run(0)
	st := readStatus(t, env, "1")
	if st.Pending != 0 || st.State != "done" || st.Sent != subscribers+5 || st.Failed != 0 {
		t.Fatalf("after %d kills and a final run: %+v\n%s", n, st, out)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for i := 0; i < subscribers; i++ {
		a := fmt.Sprintf("reader%03d@example.com", i)
		if got[a] == 0 {
			t.Errorf("%s never got the issue", a)
		}
		dups += max(0, got[a]-1)
	}
	if dups > n*concurrency {
		t.Errorf("%d duplicate copies after %d kills; the bound is %d", dups, n, n*concurrency)
	}
	t.Logf("%d kills, %d duplicates (bound %d), %v", n, dups, n*concurrency, time.Since(start).Round(time.Millisecond))
	if n < kills/2 {
		t.Errorf("only %d kills landed before the send finished; the test lost its teeth", n)
	}
}
