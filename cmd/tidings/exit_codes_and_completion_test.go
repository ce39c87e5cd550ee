package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exitCode maps cobra's usage errors to 2 by how they begin; the same words
// deeper in a wrapped failure (an EINVAL from the OS, a relay's reply) are
// failures, exit 1.
func TestExitCodeMapsOnlyUsageErrors(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{usagef("sub add: want EMAIL"), exitUsage},
		{fmt.Errorf("wrapped: %w", usagef("x")), exitUsage},
		{errors.New(`unknown command "frob" for "tidings"`), exitUsage},
		{errors.New("unknown flag: --bogus"), exitUsage},
		{errors.New(`invalid argument "x" for "--concurrency" flag: strconv.ParseInt: parsing "x": invalid syntax`), exitUsage},
		{errors.New("accepts 1 arg(s), received 2"), exitUsage},
		{errors.New(`required flag(s) "name" not set`), exitUsage},
		{errors.New("listen tcp 127.0.0.1:8080: bind: invalid argument"), exitFailure},
		{errors.New("open database /x.db: invalid argument"), exitFailure},
		{errors.New("send: relay mx.example.org: 554 server accepts no more mail"), exitFailure},
		{errors.New(`list "nope": not found`), exitFailure},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%q) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// A usage error is one line naming the command once, then a pointer to
// that command's help.
func TestSubcommandUsageErrorNamesCommandOnce(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		args []string
		line string
		help string
	}{
		{[]string{"sub", "add"}, "tidings: sub add: want EMAIL, got 0 argument(s)", "Run 'tidings sub add --help' for usage."},
		{[]string{"topic", "rm", "a", "b"}, "tidings: topic rm: want SLUG, got 2 argument(s)", "Run 'tidings topic rm --help' for usage."},
		{[]string{"list", "frob"}, `tidings: list: unknown subcommand "frob": want add, ls, set or rm`, "Run 'tidings list --help' for usage."},
		{[]string{"sub", "ls", "--bogus"}, "tidings: unknown flag: --bogus", "Run 'tidings sub ls --help' for usage."},
		{[]string{"frob"}, `tidings: unknown command "frob" for "tidings"`, "Run 'tidings --help' for usage."},
	}
	for _, tt := range tests {
		out, errs, code := runCLI(t, env, "", tt.args...)
		if code != exitUsage || out != "" {
			t.Errorf("tidings %s: exit %d, stdout %q", strings.Join(tt.args, " "), code, out)
		}
		if want := tt.line + "\n" + tt.help + "\n"; errs != want {
			t.Errorf("tidings %s: stderr\n%q\nwant\n%q", strings.Join(tt.args, " "), errs, want)
		}
	}
}

// CONTRACT.md: --db PATH, else $TIDINGS_DB, else ./tidings.db.
func TestOpenDatabaseFlagEnvDefault(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	envDB := filepath.Join(dir, "env.db")
	flagDB := filepath.Join(dir, "flag.db")
	env := map[string]string{"TIDINGS_DB": envDB}

	mustRunCLI(t, env, "--db", flagDB, "list", "add", "byflag", "--name", "F", "--from", "f@example.org")
	mustRunCLI(t, env, "list", "add", "byenv", "--name", "E", "--from", "e@example.org")
	mustRunCLI(t, nil, "list", "add", "bydefault", "--name", "D", "--from", "d@example.org")

	for path, slug := range map[string]string{flagDB: "byflag", envDB: "byenv", filepath.Join(dir, "tidings.db"): "bydefault"} {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out := mustRunCLI(t, nil, "--db", path, "list", "ls", "--json")
		if n := strings.Count(out, `"slug"`); n != 1 || !strings.Contains(out, `"slug": "`+slug+`"`) {
			t.Errorf("%s holds\n%s\nwant only list %s", filepath.Base(path), out, slug)
		}
	}
}

// Global settings are checked alike from flags and from the environment.
func TestGlobalSettingsChecked(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		err  string
	}{
		{map[string]string{"TIDINGS_CONCURRENCY": "0"}, nil, `TIDINGS_CONCURRENCY="0"`},
		{nil, []string{"--concurrency", "0"}, "--concurrency 0: want a whole number ≥ 1"},
		{nil, []string{"--concurrency", "-2"}, "--concurrency -2"},
		{map[string]string{"TIDINGS_RATE": "-1"}, nil, `TIDINGS_RATE="-1"`},
		{nil, []string{"--rate", "-1"}, "--rate -1: want a number ≥ 0"},
	}
	for _, tt := range tests {
		env := testEnv(t)
		for k, v := range tt.env {
			env[k] = v
		}
		args := append(append([]string(nil), tt.args...), "list", "ls")
		_, errs, code := runCLI(t, env, "", args...)
		if code != exitUsage || !strings.Contains(errs, tt.err) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", tt.env, tt.args, code, errs, tt.err)
		}
	}
	// Flags override the environment, so a good flag wins over a bad variable.
	env := testEnv(t)
	env["TIDINGS_CONCURRENCY"] = "zero"
	mustRunCLI(t, env, "--concurrency", "2", "list", "ls")
}

// Help and shell completion work as cobra users expect, without a database.
func TestHelpAndCompletion(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"TIDINGS_DB": filepath.Join(dir, "never.db")}
	tests := []struct {
		args []string
		out  []string
	}{
		{[]string{"--help"}, []string{"Usage:", "list", "topic", "sub", "--db string"}},
		{[]string{"sub", "import", "--help"}, []string{"--dry-run", "GB18030", "LINE: reason"}},
		{[]string{"help", "topic"}, []string{"add", "ls", "set", "rm"}},
		{[]string{"completion", "bash"}, []string{"bash completion", "__start_tidings"}},
		{[]string{"completion", "zsh"}, []string{"#compdef tidings"}},
		{[]string{"__complete", "sub", ""}, []string{"import", "export", "delete"}},
	}
	for _, tt := range tests {
		out, errs, code := runCLI(t, env, "", tt.args...)
		if code != 0 {
			t.Errorf("tidings %s: exit %d: %s", strings.Join(tt.args, " "), code, errs)
		}
		for _, w := range tt.out {
			if !strings.Contains(out, w) {
				t.Errorf("tidings %s: stdout lacks %q", strings.Join(tt.args, " "), w)
			}
		}
	}
	if _, err := os.Stat(env["TIDINGS_DB"]); !os.IsNotExist(err) {
		t.Errorf("help or completion created the database: %v", err)
	}
}

// TAB completes list and topic slugs from the database, and never creates
// a database that is not there.
func TestListTopicCompletion(t *testing.T) {
	env := newKejiEnv(t)
	mustRunCLI(t, env, "list", "add", "kexue", "--name", "Science", "--from", "s@example.org")
	mustRunCLI(t, env, "topic", "add", "cells", "--name", "细胞", "--list", "kexue")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"sub", "add", "x@example.org", "--list", "ke"}, []string{"keji", "kexue"}},
		{[]string{"list", "rm", ""}, []string{"keji", "kexue"}},
		{[]string{"topic", "rm", "--list", "keji", "c"}, []string{"chips"}},
		{[]string{"sub", "ls", "--list", "kexue", "--topic", ""}, []string{"cells"}},
		{[]string{"sub", "add", "x@example.org", "--list", "keji", "--topics", ""}, []string{"ai", "chips", "space", "all"}},
		{[]string{"sub", "import", "f.csv", "--list", "keji", "--topics", "ai,"}, []string{"ai,chips", "ai,space"}},
	}
	for _, tt := range tests {
		out, errs, code := runCLI(t, env, "", append([]string{"__complete"}, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
			t.Fatalf("__complete %v: exit %d\n%s\n%s", tt.args, code, out, errs)
		}
		if got := lines[:len(lines)-1]; strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("__complete %v = %q, want %q", tt.args, got, tt.want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	runCLI(t, map[string]string{"TIDINGS_DB": missing}, "", "__complete", "sub", "ls", "--list", "")
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("completion created %s: %v", missing, err)
	}
}
