package main

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// accountsEnv is a fresh database with the lists alpha and beta.
func accountsEnv(t *testing.T) map[string]string {
	t.Helper()
	env := testEnv(t)
	for _, slug := range []string{"alpha", "beta"} {
		mustRunCLI(t, env, "list", "add", slug, "--name", slug, "--from", slug+" <"+slug+"@example.org>")
	}
	return env
}

// accountJSONRows decodes a JSON array of objects and returns each object's
// sorted keys.
func accountJSONRows(t *testing.T, out string) ([]map[string]any, [][]string) {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	keys := make([][]string, len(rows))
	for i, r := range rows {
		for k := range r {
			keys[i] = append(keys[i], k)
		}
		sort.Strings(keys[i])
	}
	return rows, keys
}

func TestUserCommands(t *testing.T) {
	env := accountsEnv(t)
	delete(env, "TIDINGS_ADMIN_HTTP") // the default, for the link
	runSteps(t, env, []cliStep{
		{args: []string{"user", "add", "Ann@Example.org", "--role", "admin", "--password-stdin"}, stdin: "correct horse\n",
			out: []string{"added ann@example.org: admin of all"}, notOut: []string{"link"}},
		{args: []string{"user", "add", "ed@example.org", "--role", "editor", "--lists", "beta,alpha"},
			out: []string{"added ed@example.org: editor of alpha,beta", "valid 24 h", "http://127.0.0.1:8081/admin/link/"}},
		// Bad input: usage errors (exit 2), one line naming the input.
		{args: []string{"user", "add", "x@example.org", "--role", "root"}, code: 2, errs: []string{`user add: --role "root": want admin or editor`}},
		{args: []string{"user", "add", "x@example.org"}, code: 2, errs: []string{"--role is required"}},
		{args: []string{"user", "add", "x@example.org", "--role", "editor", "--lists", "alpha,nope"}, code: 2, errs: []string{`lists: no list "nope"`}},
		{args: []string{"user", "add", "not-an-address", "--role", "editor"}, code: 2, errs: []string{"email"}},
		{args: []string{"user", "add", "x@example.org", "--role", "editor", "--password-stdin"}, stdin: "", code: 2, errs: []string{"standard input is empty"}},
		{args: []string{"user", "add", "x@example.org", "--role", "editor", "--password-stdin"}, stdin: "short\n", code: 2, errs: []string{"password: too short"}},
		{args: []string{"user", "add"}, code: 2, errs: []string{"want EMAIL"}},
		{args: []string{"user", "frobnicate"}, code: 2, errs: []string{`unknown subcommand "frobnicate"`}},
		// A duplicate is a failure, not a usage error.
		{args: []string{"user", "add", "ANN@example.org", "--role", "editor"}, code: 1, errs: []string{"ann@example.org already exists"}},
		{args: []string{"user", "ls"}, out: []string{"EMAIL", "ann@example.org", "admin", "all", "ed@example.org", "alpha,beta", "never"}, notOut: []string{"x@example.org"}},
		{args: []string{"user", "rm", "ed@example.org"}, out: []string{"removed ed@example.org"}},
		{args: []string{"user", "rm", "ed@example.org"}, code: 1, errs: []string{"no user ed@example.org"}},
	})
	out := mustRunCLI(t, env, "user", "ls", "--json")
	rows, keys := accountJSONRows(t, out)
	if len(rows) != 1 || rows[0]["email"] != "ann@example.org" || rows[0]["role"] != "admin" || rows[0]["last_login"] != nil {
		t.Fatalf("user ls --json:\n%s", out)
	}
	if want := []string{"email", "last_login", "lists", "role"}; !slices.Equal(keys[0], want) {
		t.Fatalf("keys %v, want %v", keys[0], want)
	}
	if l, _ := rows[0]["lists"].([]any); len(l) != 1 || l[0] != "all" {
		t.Fatalf("lists of an admin of every list: %v", rows[0]["lists"])
	}
}

func TestUserAddLinkUsesAdminURL(t *testing.T) {
	env := accountsEnv(t)
	env["TIDINGS_ADMIN_URL"] = "https://admin.example.org/"
	out := mustRunCLI(t, env, "user", "add", "ed@example.org", "--role", "editor")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	link := lines[len(lines)-1]
	if !strings.HasPrefix(link, "https://admin.example.org/admin/link/") || len(link) != len("https://admin.example.org/admin/link/")+43 {
		t.Fatalf("link %q (output:\n%s)", link, out)
	}
	// The flag wins over the environment, and a bad URL is a usage error.
	out = mustRunCLI(t, env, "--admin-url", "http://10.0.0.5:9000", "user", "add", "ed2@example.org", "--role", "editor")
	if !strings.Contains(out, "http://10.0.0.5:9000/admin/link/") {
		t.Fatalf("--admin-url not used:\n%s", out)
	}
	env["TIDINGS_ADMIN_URL"] = "admin.example.org"
	runSteps(t, env, []cliStep{{args: []string{"user", "ls"}, code: 2, errs: []string{`--admin-url "admin.example.org": want http(s)://`}}})
	delete(env, "TIDINGS_ADMIN_URL")
	env["TIDINGS_ADMIN_HTTP"] = "0.0.0.0:9443"
	out = mustRunCLI(t, env, "user", "add", "ed3@example.org", "--role", "editor")
	if !strings.Contains(out, "http://localhost:9443/admin/link/") {
		t.Fatalf("default link from TIDINGS_ADMIN_HTTP:\n%s", out)
	}
	// The link's value is stored only as a hash.
	raw, err := os.ReadFile(env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(env["TIDINGS_DB"] + "-wal")
	value := link[strings.LastIndex(link, "/")+1:]
	if strings.Contains(string(raw)+string(wal), value) {
		t.Fatal("a sign-in link's value is in the database file")
	}
}

func TestUserSetAndLink(t *testing.T) {
	env := accountsEnv(t)
	mustRunCLI(t, env, "user", "add", "ed@example.org", "--role", "editor", "--lists", "alpha")
	runSteps(t, env, []cliStep{
		{args: []string{"user", "set", "ed@example.org", "--lists", "beta"}, out: []string{"ed@example.org: editor of beta"}},
		{args: []string{"user", "set", "ED@example.org", "--role", "admin"}, out: []string{"ed@example.org: admin of beta"}},
		{args: []string{"user", "set", "ed@example.org", "--lists", "all"}, out: []string{"ed@example.org: admin of all"}},
		{args: []string{"user", "set", "ed@example.org"}, code: 2, errs: []string{"nothing to change"}},
		{args: []string{"user", "set", "ed@example.org", "--role", "root"}, code: 2, errs: []string{`--role "root"`}},
		{args: []string{"user", "set", "ed@example.org", "--lists", "gamma"}, code: 2, errs: []string{`no list "gamma"`}},
		{args: []string{"user", "set", "nobody@example.org", "--role", "admin"}, code: 1, errs: []string{"no user nobody@example.org"}},
		{args: []string{"user", "link", "ed@example.org"}, out: []string{"/admin/link/"}},
		{args: []string{"user", "link", "nobody@example.org"}, code: 1, errs: []string{"no user nobody@example.org"}},
	})
	out := mustRunCLI(t, env, "user", "ls", "--json")
	if !strings.Contains(out, `"role": "admin"`) || !strings.Contains(out, `"all"`) {
		t.Fatalf("after user set:\n%s", out)
	}
	audit := mustRunCLI(t, env, "audit", "ls")
	if strings.Count(audit, "user.set") != 3 || !strings.Contains(audit, "user.link") {
		t.Fatalf("audit:\n%s", audit)
	}
}
