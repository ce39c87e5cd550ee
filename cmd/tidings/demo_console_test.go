package main

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testDemoConsole: without --once the demo keeps serving, and what it
// prints to open the console works: the editor signs in with the printed
// address and password through the form, and the home page shows the
// demo list. SIGINT then stops it with status 0.
func testDemoConsole(t *testing.T, bin string) {
	cmd := exec.Command(bin, "demo", "--dir", t.TempDir()+"/demo")
	cmd.Env = childEnv()
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	defer cmd.Process.Kill()
	consoleRe := regexp.MustCompile(`console\s+(http://\S+)/admin/ — sign in as (\S+) with password (\S+) `)
	var base, email, password string
	var out strings.Builder
	deadline := time.After(90 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before serving:\n%s", out.String())
			}
			out.WriteString(l + "\n")
			if m := consoleRe.FindStringSubmatch(l); m != nil {
				base, email, password = m[1], m[2], m[3]
			}
			if strings.HasPrefix(l, "Serving until Ctrl-C") {
				break wait
			}
		case <-deadline:
			t.Fatalf("demo not serving after 90 s:\n%s", out.String())
		}
	}
	if base == "" {
		t.Fatalf("no console line in the demo's output:\n%s", out.String())
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", base+"/admin/signin", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "tidings_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in with the printed password: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	req, _ = http.NewRequest("GET", base+"/admin/", nil)
	req.AddCookie(session)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "科技情报参考") {
		t.Errorf("home page signed in as the demo editor: %d\n%.400s", resp.StatusCode, body)
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo after SIGINT: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30 s of SIGINT")
	}
}
