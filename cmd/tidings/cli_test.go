package main

// Shared helpers for the in-process CLI tests of every command group.
// Commands run through App.Run exactly as main does, against a real SQLite
// file in t.TempDir(); only the environment is a map instead of os.Getenv,
// so tests never see the developer's TIDINGS_* variables.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs one tidings command line with the given environment and
// stdin, and returns what it printed and its exit code.
func runCLI(t testing.TB, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string { return env[k] }
	app := NewApp(strings.NewReader(stdin), &out, &errb, getenv)
	code = app.Run(context.Background(), args)
	return out.String(), errb.String(), code
}

// mustRunCLI is runCLI for steps that must succeed: it fails the test with
// the command's stderr otherwise and returns stdout.
func mustRunCLI(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	out, errs, code := runCLI(t, env, "", args...)
	if code != 0 {
		t.Fatalf("tidings %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// newTestDB is the path of a fresh database file (created on first use by
// the command) in t.TempDir().
func newTestDB(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "tidings.db")
}

// testEnv is an environment whose TIDINGS_DB is a fresh database.
func testEnv(t testing.TB) map[string]string {
	t.Helper()
	// An ephemeral console port: the default 127.0.0.1:8081 would be
	// taken by the first serve of parallel tests.
	return map[string]string{"TIDINGS_DB": newTestDB(t), "TIDINGS_ADMIN_HTTP": "127.0.0.1:0"}
}

// writeTestFile writes content to name in t.TempDir() and returns its path.
func writeTestFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cliStep is one command of a table-driven CLI test: the arguments, stdin,
// and what must hold of the result. Empty expectations are not checked;
// every string in out/errs must appear in stdout/stderr, every string in
// notOut must not appear in stdout.
type cliStep struct {
	args   []string
	stdin  string
	code   int
	out    []string
	errs   []string
	notOut []string
}

// runSteps runs the steps in order against env, each checked as it runs.
func runSteps(t *testing.T, env map[string]string, steps []cliStep) {
	t.Helper()
	for i, st := range steps {
		out, errs, code := runCLI(t, env, st.stdin, st.args...)
		where := fmt.Sprintf("step %d: tidings %s", i, strings.Join(st.args, " "))
		if code != st.code {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", where, code, st.code, out, errs)
			continue
		}
		for _, w := range st.out {
			if !strings.Contains(out, w) {
				t.Errorf("%s: stdout lacks %q:\n%s", where, w, out)
			}
		}
		for _, w := range st.notOut {
			if strings.Contains(out, w) {
				t.Errorf("%s: stdout has %q:\n%s", where, w, out)
			}
		}
		for _, w := range st.errs {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", where, w, errs)
			}
		}
	}
}
