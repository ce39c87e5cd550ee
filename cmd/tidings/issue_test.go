package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/issues"
)

// issueEnv is a database with the sample bulletin's list and a few topics.
func issueEnv(t *testing.T) map[string]string {
	t.Helper()
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报参考", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	mustRunCLI(t, env, "topic", "add", "ageing", "--name", "养老", "--keywords", "养老")
	mustRunCLI(t, env, "topic", "add", "biomed", "--name", "生物医药", "--keywords", "生物医药,医疗器械")
	mustRunCLI(t, env, "topic", "add", "finance", "--name", "科技金融", "--keywords", "金融")
	return env
}

const sampleFile = "../../testdata/keji-qingbao-2024-07.md"

func TestIssueImportShowLs(t *testing.T) {
	env := issueEnv(t)
	out, errs, code := runCLI(t, env, "", "issue", "import", sampleFile)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	if out != "1\n" {
		t.Errorf("import stdout = %q, want the id alone", out)
	}
	if !strings.Contains(errs, "issue 7") || !strings.Contains(errs, "5 articles") {
		t.Errorf("import summary = %q", errs)
	}

	var show struct {
		ID       int64  `json:"id"`
		Number   int    `json:"number"`
		Title    string `json:"title"`
		Subject  string `json:"subject"`
		Status   string `json:"status"`
		Articles []struct {
			Position int      `json:"position"`
			Title    string   `json:"title"`
			Topics   []string `json:"topics"`
		} `json:"articles"`
	}
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "show", "1", "--json")), &show); err != nil {
		t.Fatal(err)
	}
	if show.ID != 1 || show.Number != 7 || show.Title != "科技情报参考" || show.Status != "draft" || len(show.Articles) != 5 {
		t.Fatalf("show = %+v", show)
	}
	if a := show.Articles[1]; a.Position != 2 || a.Title != "南京市以科技创新驱动提升生物医药产业能级" || strings.Join(a.Topics, ",") != "biomed,finance" {
		t.Errorf("article 2 = %+v", a)
	}

	var ls []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "ls", "--json")), &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0]["id"] != 1.0 || ls[0]["number"] != 7.0 || ls[0]["status"] != "draft" || ls[0]["articles"] != 5.0 || ls[0]["title"] != "科技情报参考" {
		t.Errorf("ls = %v", ls)
	}
	if table := mustRunCLI(t, env, "issue", "ls", "--list", "keji"); !strings.Contains(table, "科技情报参考") || !strings.Contains(table, "draft") {
		t.Errorf("ls table = %q", table)
	}
	if text := mustRunCLI(t, env, "issue", "show", "1"); !strings.Contains(text, "宁波：探索创新“研发加速器”增值服务 助力新质生产力发展") {
		t.Errorf("show text = %q", text)
	}

	var imp map[string]any
	other := writeTestFile(t, "weekly.md", []byte("# Weekly\n\nNo. 8\n\n## One\n\nA.\n\n## Two\n\nB.\n"))
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "import", other, "--json")), &imp); err != nil {
		t.Fatal(err)
	}
	if imp["id"] != 2.0 || imp["number"] != 8.0 || imp["title"] != "Weekly" || imp["articles"] != 2.0 {
		t.Errorf("import --json = %v", imp)
	}
}

func TestIssueTagRetagReady(t *testing.T) {
	env := issueEnv(t)
	mustRunCLI(t, env, "issue", "import", sampleFile)
	mustRunCLI(t, env, "issue", "tag", "1", "3", "ageing,biomed")
	mustRunCLI(t, env, "issue", "tag", "1", "4", "none")
	mustRunCLI(t, env, "issue", "tag", "1", "5", "all")
	mustRunCLI(t, env, "topic", "set", "finance", "--keywords", "区块链")
	if out := mustRunCLI(t, env, "issue", "retag", "1"); !strings.Contains(out, "1 article(s) retagged") {
		t.Errorf("retag: %q", out) // article 2 loses finance (金融 → 区块链, which it lacks); 3–5 are by hand
	}
	show := mustRunCLI(t, env, "issue", "show", "1", "--json")
	var got struct {
		Articles []struct {
			Topics   []string `json:"topics"`
			TaggedBy string   `json:"tagged_by"`
		} `json:"articles"`
	}
	if err := json.Unmarshal([]byte(show), &got); err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, a := range got.Articles {
		summary = append(summary, strings.Join(a.Topics, ",")+"/"+a.TaggedBy)
	}
	want := "ageing/keywords biomed/keywords ageing,biomed/hand /hand ageing,biomed,finance/hand"
	if strings.Join(summary, " ") != want {
		t.Errorf("topics = %s\nwant     %s", strings.Join(summary, " "), want)
	}

	mustRunCLI(t, env, "issue", "ready", "1")
	mustRunCLI(t, env, "issue", "ready", "1") // already ready: fine
	if out := mustRunCLI(t, env, "issue", "ls"); !strings.Contains(out, "ready") {
		t.Errorf("ls after ready: %q", out)
	}
}

func TestIssueCLIErrors(t *testing.T) {
	env := issueEnv(t)
	mustRunCLI(t, env, "issue", "import", sampleFile)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.md", "---\ntitle: T\nnumber: 9\n---\n\n## A {topics=space}\n\nx\n")
	latin := write("latin.md", "# T\n\nNo. 9\n\n## caf\xe9\n")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"issue", "import", sampleFile}, 1, "issue 7 already exists in list keji (id 1)"},
		{[]string{"issue", "import", bad}, 1, bad + `:6: unknown topic "space" (known: ageing, biomed, finance)`},
		{[]string{"issue", "import", latin}, 1, latin + ":5: not UTF-8"},
		{[]string{"issue", "import", filepath.Join(dir, "missing.md")}, 1, "no such file"},
		{[]string{"issue", "import"}, 2, "want FILE.md"},
		{[]string{"issue", "import", bad, "--list", "nope"}, 1, "nope"},
		{[]string{"issue", "show", "x"}, 2, `issue id "x"`},
		{[]string{"issue", "show", "9"}, 1, "issue 9: not found"},
		{[]string{"issue", "tag", "1", "9", "ageing"}, 1, "issue 1 has no article 9 (it has 5)"},
		{[]string{"issue", "tag", "1", "2", "space"}, 1, `unknown topic`},
		{[]string{"issue", "tag", "1", "zero", "ageing"}, 2, "position"},
		{[]string{"issue", "frobnicate"}, 2, "unknown subcommand"},
	}
	for _, tt := range tests {
		_, errs, code := runCLI(t, env, "", tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("tidings %s: exit %d, stderr %q; want exit %d with %q", strings.Join(tt.args, " "), code, errs, tt.code, tt.want)
		}
		if code == 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("tidings %s: more than one line on stderr: %q", strings.Join(tt.args, " "), errs)
		}
	}
	// Nothing of the refused files was stored.
	var ls []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "ls", "--json")), &ls); err != nil || len(ls) != 1 {
		t.Errorf("issues after refused imports: %v %v", ls, err)
	}

	// A sent issue is neither made ready nor retagged.
	env2 := issueEnv(t)
	mustRunCLI(t, env2, "issue", "import", sampleFile)
	markSent(t, env2["TIDINGS_DB"], 1)
	for _, args := range [][]string{{"issue", "ready", "1"}, {"issue", "retag", "1"}, {"issue", "tag", "1", "1", "ageing"}} {
		if _, errs, code := runCLI(t, env2, "", args...); code != 1 || !strings.Contains(errs, "is sent") {
			t.Errorf("tidings %s on a sent issue: exit %d, %q", strings.Join(args, " "), code, errs)
		}
	}
}

// markSent plays the sender's part: the issue went out.
func markSent(t *testing.T, path string, id int64) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := issues.NewStore(d).MarkSent(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
}
