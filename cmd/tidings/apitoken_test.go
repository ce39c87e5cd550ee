package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestTokenCommands(t *testing.T) {
	env := accountsEnv(t)
	out := mustRunCLI(t, env, "token", "add", "ci", "--role", "editor", "--lists", "alpha", "--json")
	var made map[string]any
	if err := json.Unmarshal([]byte(out), &made); err != nil {
		t.Fatalf("token add --json: %v\n%s", err, out)
	}
	secret, _ := made["token"].(string)
	if made["name"] != "ci" || !strings.HasPrefix(secret, "tdg_") || len(secret) != 47 {
		t.Fatalf("token add --json:\n%s", out)
	}
	// Without --json stdout is the token alone, for $(tidings token add …).
	stdout, stderr, code := runCLI(t, env, "", "token", "add", "importer", "--role", "admin")
	if code != 0 || !strings.HasPrefix(stdout, "tdg_") || strings.Count(stdout, "\n") != 1 || !strings.Contains(stderr, "shown this once") {
		t.Fatalf("token add: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
	for _, p := range []string{env["TIDINGS_DB"], env["TIDINGS_DB"] + "-wal"} {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), strings.TrimPrefix(secret, "tdg_")) || strings.Contains(string(b), strings.TrimSpace(strings.TrimPrefix(stdout, "tdg_"))) {
			t.Fatalf("a token is stored in %s", p)
		}
	}

	runSteps(t, env, []cliStep{
		{args: []string{"token", "add", "ci", "--role", "editor"}, code: 1, errs: []string{"token ci already exists"}},
		{args: []string{"token", "add", "x", "--role", "boss"}, code: 2, errs: []string{`--role "boss": want admin or editor`}},
		{args: []string{"token", "add", "x"}, code: 2, errs: []string{"--role is required"}},
		{args: []string{"token", "add", "has space", "--role", "admin"}, code: 2, errs: []string{"name:", "letters, digits"}},
		{args: []string{"token", "add", "x", "--role", "editor", "--lists", "gamma"}, code: 2, errs: []string{`no list "gamma"`}},
		{args: []string{"token", "ls"}, out: []string{"NAME", "ci", "editor", "alpha", "importer", "admin", "all", "never"}, notOut: []string{"tdg_", "has space"}},
	})
	out = mustRunCLI(t, env, "token", "ls", "--json")
	if strings.Contains(out, "tdg_") {
		t.Fatalf("token ls shows a token:\n%s", out)
	}
	rows, keys := accountJSONRows(t, out)
	if len(rows) != 2 || rows[0]["name"] != "ci" || rows[0]["last_used"] != nil {
		t.Fatalf("token ls --json:\n%s", out)
	}
	if want := []string{"last_used", "lists", "name", "role"}; !slices.Equal(keys[0], want) {
		t.Fatalf("keys %v, want %v", keys[0], want)
	}
	if l, _ := rows[0]["lists"].([]any); len(l) != 1 || l[0] != "alpha" {
		t.Fatalf("lists %v", rows[0]["lists"])
	}
	runSteps(t, env, []cliStep{
		{args: []string{"token", "rm", "ci"}, out: []string{"revoked token ci"}},
		{args: []string{"token", "rm", "ci"}, code: 1, errs: []string{"no token ci"}},
		{args: []string{"token", "ls"}, out: []string{"importer"}, notOut: []string{"ci "}},
	})
}
