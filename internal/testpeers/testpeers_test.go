package testpeers

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// helperEnv names the peer lookup TestHelperProcess runs in a child test
// binary; a skip or failure can only be observed from outside the test.
const helperEnv = "TESTPEERS_HELPER"

// TestHelperProcess is not a test by itself: the tests below run it in a
// child process to see how a missing peer ends a test.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("helper for the tests below")
	case "need":
		Need(t, "mailpit", MailpitHint)
	case "mailpit":
		MailpitBinary(t)
	case "chromium":
		ChromiumBinary(t)
	case "litestream":
		Litestream(t)
	case "start-mailpit":
		StartMailpit(t, MailpitOptions{})
	case "browser":
		Chromium(t)
	}
	t.Log("peer found")
}

// A missing peer skips the test with a message naming it and how to
// install it; with TIDINGS_REQUIRE_PEERS=1 the same test fails with that
// message. PATH without the peers (nor go) and a GOPATH that does not exist
// stand for a machine without them.
func TestMissingPeerSkipsOrFails(t *testing.T) {
	noPeers := []string{"PATH=" + t.TempDir(), "GOPATH=/nonexistent", "HOME=" + t.TempDir()}
	cases := []struct {
		helper string
		env    []string
		want   string
	}{
		{"need", nil, "mailpit not found: " + MailpitHint},
		{"mailpit", noPeers, "mailpit not found: " + MailpitHint},
		{"chromium", noPeers, "chromium not found: " + ChromiumHint},
		{"litestream", noPeers, "litestream not found: " + LitestreamHint},
		{"start-mailpit", noPeers, "mailpit not found: " + MailpitHint},
		{"browser", noPeers, "chromium not found: " + ChromiumHint},
	}
	for _, c := range cases {
		for _, require := range []bool{false, true} {
			name := c.helper
			if require {
				name += "/required"
			}
			t.Run(name, func(t *testing.T) {
				env := append(os.Environ(), helperEnv+"="+c.helper, RequireEnv+"=")
				if require {
					env = append(env, RequireEnv+"=1")
				}
				out, code := runHelper(t, append(env, c.env...))
				if !strings.Contains(out, c.want) {
					t.Errorf("output lacks %q:\n%s", c.want, out)
				}
				wantCode, wantMark := 0, "--- SKIP: TestHelperProcess"
				if require {
					wantCode, wantMark = 1, "--- FAIL: TestHelperProcess"
				}
				if code != wantCode || !strings.Contains(out, wantMark) {
					t.Errorf("exit %d, want %d with %q:\n%s", code, wantCode, wantMark, out)
				}
				if strings.Contains(out, "peer found") {
					t.Errorf("the test went on after the missing peer:\n%s", out)
				}
			})
		}
	}
}

// runHelper runs TestHelperProcess in a child test binary with env.
func runHelper(t *testing.T, env []string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	default:
		t.Fatalf("run helper: %v", err)
		return "", -1
	}
}

// StartMailpit brings up all three servers: the API answers, SMTP and POP3
// greet, and the POP3 account from the options logs in.
func TestStartMailpit(t *testing.T) {
	m := StartMailpit(t, MailpitOptions{POP3User: "bounces", POP3Pass: "s3cret"})
	resp, err := http.Get(m.API + "/api/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s/api/v1/messages: %s", m.API, resp.Status)
	}
	if g := greeting(t, m.SMTP); !strings.HasPrefix(g, "220 ") {
		t.Errorf("SMTP %s greeted %q", m.SMTP, g)
	}
	c, err := net.DialTimeout("tcp", m.POP3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, step := range []struct{ send, want string }{
		{"", "+OK"}, {"USER bounces\r\n", "+OK"}, {"PASS s3cret\r\n", "+OK"}, {"QUIT\r\n", "+OK"},
	} {
		if step.send != "" {
			if _, err := c.Write([]byte(step.send)); err != nil {
				t.Fatal(err)
			}
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, step.want) {
			t.Fatalf("POP3 after %q: %q, %v", step.send, line, err)
		}
	}

	// Without POP3User there is no POP3 server.
	if m := StartMailpit(t, MailpitOptions{}); m.POP3 != "" || m.SMTP == "" || m.API == "" {
		t.Errorf("without POP3: %+v", m)
	}
}

func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read greeting from %s: %v", addr, err)
	}
	return line
}
