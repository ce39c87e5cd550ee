package main

import (
	"strings"
	"testing"
)

func TestAuditLs(t *testing.T) {
	env := accountsEnv(t)
	mustRunCLI(t, env, "user", "add", "ed@example.org", "--role", "editor", "--lists", "alpha")
	mustRunCLI(t, env, "token", "add", "ci", "--role", "admin")
	mustRunCLI(t, env, "token", "rm", "ci")
	runCLI(t, env, "", "user", "add", "x@example.org", "--role", "nope") // refused: not recorded

	out := mustRunCLI(t, env, "audit", "ls", "--json")
	rows, keys := accountJSONRows(t, out)
	var actions []string
	for _, r := range rows {
		if a := r["action"].(string); strings.HasPrefix(a, "user.") || strings.HasPrefix(a, "token.") {
			actions = append(actions, r["action"].(string)+" "+r["object_id"].(string))
		}
	}
	if got, want := strings.Join(actions, "|"), "token.rm ci|token.add ci|user.add ed@example.org"; got != want {
		t.Fatalf("audit, newest first:\n got %s\nwant %s\n%s", got, want, out)
	}
	for _, k := range []string{"id", "at", "actor_kind", "actor", "action", "object_kind", "object_id", "list", "detail", "ip"} {
		found := false
		for _, have := range keys[0] {
			found = found || have == k
		}
		if !found {
			t.Errorf("audit ls --json lacks key %q: %v", k, keys[0])
		}
	}
	// Page by page, one at a time, the cursor from stderr.
	var paged []string
	for cursor := ""; ; {
		args := []string{"audit", "ls", "--json", "--limit", "1"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		out, errs, code := runCLI(t, env, "", args...)
		rows, _ := accountJSONRows(t, out)
		if code != 0 || len(rows) != 1 {
			t.Fatalf("%v: exit %d, %d rows\n%s%s", args, code, len(rows), out, errs)
		}
		paged = append(paged, rows[0]["action"].(string))
		_, next, more := strings.Cut(strings.TrimSpace(errs), "more: tidings audit ls --cursor ")
		if !more {
			break
		}
		cursor = next
	}
	if len(paged) != len(rows) || paged[0] != "token.rm" {
		t.Fatalf("paged %v, all at once %d entries", paged, len(rows))
	}
	runSteps(t, env, []cliStep{
		{args: []string{"audit", "ls"}, out: []string{"ACTION", "token.rm", "token ci", "user.add", "user ed@example.org"}},
		{args: []string{"audit", "ls", "--list", "nope"}, code: 2, errs: []string{`list: no list "nope"`}},
		{args: []string{"audit", "ls", "--limit", "0"}, code: 2, errs: []string{"--limit 0: want 1 to"}},
		{args: []string{"audit", "ls", "--limit", "x"}, code: 2},
		{args: []string{"audit", "ls", "--cursor", "x"}, code: 2, errs: []string{`cursor: "x"`}},
	})
	out = mustRunCLI(t, env, "audit", "ls", "--list", "beta", "--json")
	rows, _ = accountJSONRows(t, out)
	for _, r := range rows {
		if r["list"] != "beta" {
			t.Fatalf("--list beta shows an entry of %v:\n%s", r["list"], out)
		}
	}
}
