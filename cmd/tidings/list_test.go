package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tidings/tidings/internal/cjkwidth"

	"github.com/tidings/tidings/db"
)

// jsonKeys decodes a JSON array of objects and returns the sorted keys of
// each object.
func jsonKeys(t *testing.T, out string) [][]string {
	t.Helper()
	var objs []map[string]any
	if err := json.Unmarshal([]byte(out), &objs); err != nil {
		t.Fatalf("not a JSON array of objects: %v\n%s", err, out)
	}
	var keys [][]string
	for _, o := range objs {
		var k []string
		for key := range o {
			k = append(k, key)
		}
		sort.Strings(k)
		keys = append(keys, k)
	}
	return keys
}

// hasKeys fails unless every object has every one of want.
func hasKeys(t *testing.T, out string, want ...string) {
	t.Helper()
	for n, keys := range jsonKeys(t, out) {
		for _, w := range want {
			if i := sort.SearchStrings(keys, w); i == len(keys) || keys[i] != w {
				t.Errorf("object %d lacks key %q: has %v", n, w, keys)
			}
		}
	}
}

func TestListCommands(t *testing.T) {
	env := testEnv(t)
	from := "科技情报 <news@example.org>"
	runSteps(t, env, []cliStep{
		{args: []string{"list", "ls"}, errs: []string{"no lists yet"}},
		{args: []string{"list", "ls", "--json"}, out: []string{"[]"}},
		{args: []string{"list", "add", "keji", "--name", "科技情报", "--from", from, "--lang", "zh", "--tz", "Asia/Shanghai"},
			out: []string{"created list keji (zh, Asia/Shanghai)"}},
		{args: []string{"list", "add", "keji", "--name", "Again", "--from", "a@example.org"}, code: 1,
			errs: []string{"tidings: list keji: already exists"}},
		{args: []string{"list", "add", "news", "--from", "a@example.org"}, code: 2, errs: []string{"--name and --from are required"}},
		{args: []string{"list", "add"}, code: 2, errs: []string{"want SLUG"}},
		{args: []string{"list", "add", "Bad Slug", "--name", "x", "--from", "a@example.org"}, code: 1, errs: []string{`list slug "Bad Slug"`}},
		{args: []string{"list", "add", "news", "--name", "x", "--from", "nope"}, code: 1, errs: []string{`from "nope"`}},
		{args: []string{"list", "add", "news", "--name", "x", "--from", "a@example.org", "--tz", "Mars/Base"}, code: 1, errs: []string{`time zone "Mars/Base"`}},
		{args: []string{"list", "add", "news", "--name", "x", "--from", "a@example.org", "--lang", "fr"}, code: 1, errs: []string{`language "fr"`}},
		{args: []string{"list", "add", "news", "--name", "News", "--from", "News <news@example.com>", "--bogus"}, code: 2, errs: []string{"unknown flag: --bogus"}},
		{args: []string{"list", "add", "news", "--name", "News", "--from", "News <news@example.com>", "--reply-to", "ed@example.com", "--address", "1 Main St"},
			out: []string{"created list news (en, UTC)"}},
		{args: []string{"list", "ls"}, out: []string{"SLUG", "keji", "科技情报", "news"}},
		{args: []string{"list", "set", "news", "--name", "The News", "--tz", "Europe/Berlin"}, out: []string{"updated list news"}},
		{args: []string{"list", "set", "news"}, code: 2, errs: []string{"nothing to change"}},
		{args: []string{"list", "set", "nope", "--name", "x"}, code: 1, errs: []string{`list "nope": not found`}},
		{args: []string{"list", "set", "news", "--lang", "xx"}, code: 1, errs: []string{`language "xx"`}},
		{args: []string{"sub", "add", "a@example.org", "--list", "news"}},
		{args: []string{"list", "rm", "news"}, code: 1, errs: []string{"1 pending or confirmed subscribers", "--force"}},
		{args: []string{"list", "rm", "news", "--force"}, out: []string{"deleted list news"}},
		{args: []string{"list", "rm", "news"}, code: 1, errs: []string{`list "news": not found`}},
		{args: []string{"list", "frob"}, code: 2, errs: []string{`unknown subcommand "frob"`}},
		{args: []string{"list"}, code: 2, errs: []string{"want a subcommand"}},
	})

	out := mustRunCLI(t, env, "list", "ls", "--json")
	hasKeys(t, out, "slug", "name", "from", "lang", "tz", "subscribers")
	var lists []struct {
		Slug, Name, From, Lang, TZ string
		Subscribers                int
	}
	json.Unmarshal([]byte(out), &lists)
	if len(lists) != 1 || lists[0].Slug != "keji" || lists[0].From != from || lists[0].Lang != "zh" || lists[0].TZ != "Asia/Shanghai" {
		t.Errorf("list ls --json: %+v", lists)
	}
}

// The human tables line up when names are Chinese (two columns a rune).
func TestTableAlignsWideCharacters(t *testing.T) {
	var b strings.Builder
	tb := newTable(&b, "SLUG", "NAME", "N")
	tb.row("keji", "科技情报", "1")
	tb.row("news", "News", "22")
	if err := tb.flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	col := func(line, cell string) int {
		i := strings.LastIndex(line, cell)
		return cjkwidth.Width(line[:i])
	}
	want := []int{col(lines[0], "N"), col(lines[1], "1"), col(lines[2], "22")}
	if want[0] != want[1] || want[1] != want[2] {
		t.Errorf("last column starts at display columns %v:\n%s", want, b.String())
	}
}

func TestListTemplatesFlag(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	runSteps(t, env, []cliStep{
		{args: []string{"list", "add", "news", "--name", "News", "--from", "News <n@example.org>", "--templates", filepath.Join(dir, "missing")}, code: 1, errs: []string{"is not a directory"}},
		{args: []string{"list", "add", "news", "--name", "News", "--from", "News <n@example.org>", "--templates", dir}, code: 0},
		{args: []string{"list", "set", "news", "--templates", ""}, code: 0},
	})
	// A newsletter template that drops the unsubscribe link, or does not
	// parse, is refused when configured, not when an issue is sent.
	for name, body := range map[string]string{
		"no unsubscribe link": "{{.Title}}\n",
		"syntax error":        "{{.Title\n",
	} {
		bad := t.TempDir()
		os.MkdirAll(filepath.Join(bad, "email"), 0o755)
		os.WriteFile(filepath.Join(bad, "email", "newsletter.txt"), []byte(body), 0o644)
		_, stderr, code := runCLI(t, env, "", "list", "set", "news", "--templates", bad)
		if code != 1 || !strings.Contains(stderr, "templates") {
			t.Errorf("%s: exit %d, stderr %q; want 1 naming the templates", name, code, stderr)
		}
	}
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var stored string
	d.R.QueryRow("SELECT template_dir FROM lists WHERE slug = 'news'").Scan(&stored)
	if stored != "" {
		t.Errorf("a refused template directory was stored: %q", stored)
	}
}
