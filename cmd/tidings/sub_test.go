package main

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestSubCommands(t *testing.T) {
	env := newKejiEnv(t)
	runSteps(t, env, []cliStep{
		{args: []string{"sub", "add", "Wang.Fang@Example.COM", "--name", "王芳", "--topics", "ai,chips"},
			out: []string{"added Wang.Fang@example.com to list keji (topics: ai;chips)"}},
		{args: []string{"sub", "add", "wang.fang@example.com"}, code: 1,
			errs: []string{"tidings: wang.fang@example.com is already on list keji (confirmed)\n"}},
		{args: []string{"sub", "add", "not-an-email"}, code: 1, errs: []string{`tidings: email "not-an-email": not an address`}},
		{args: []string{"sub", "add", "Li <li@example.com>"}, code: 1, errs: []string{"without display name"}},
		{args: []string{"sub", "add", "li@example.com", "--topics", "sport"}, code: 1,
			errs: []string{`unknown topic "sport" (known: ai, chips, space)`}},
		{args: []string{"sub", "add", "li@example.com", "--topics", "a b"}, code: 2, errs: []string{`topic slug "a b"`}},
		{args: []string{"sub", "add", "li@example.com", "--list", "nope"}, code: 1, errs: []string{`list "nope": not found`}},
		{args: []string{"sub", "add"}, code: 2, errs: []string{"want EMAIL"}},
		{args: []string{"sub", "add", "li@例子.中国", "--name", "李雷"}, out: []string{"added li@xn--fsqu00a.xn--fiqs8s"}},
		{args: []string{"sub", "add", "zhao@example.com", "--topics", "space"}},
		{args: []string{"sub", "ls"}, out: []string{"EMAIL", "Wang.Fang@example.com", "王芳", "ai;chips", "li@xn--fsqu00a.xn--fiqs8s", "all"}},
		{args: []string{"sub", "ls", "--topic", "chips"}, out: []string{"Wang.Fang@example.com", "li@xn--"}, notOut: []string{"zhao@"}},
		{args: []string{"sub", "ls", "--topic", "sport"}, code: 1, errs: []string{`unknown topic "sport"`}},
		{args: []string{"sub", "ls", "--status", "maybe"}, code: 2, errs: []string{`status "maybe"`}},
		{args: []string{"sub", "topics", "WANG.FANG@example.com", "space"}, out: []string{"now receives: space"}},
		{args: []string{"sub", "topics", "wang.fang@example.com", "sport"}, code: 1, errs: []string{`unknown topic "sport"`}},
		{args: []string{"sub", "topics", "wang.fang@example.com"}, code: 2, errs: []string{"want EMAIL and TOPICS"}},
		{args: []string{"sub", "topics", "nobody@example.com", "all"}, code: 1, errs: []string{"nobody@example.com: not found"}},
		{args: []string{"sub", "unsubscribe", "zhao@example.com"}, out: []string{"unsubscribed zhao@example.com from list keji"}},
		{args: []string{"sub", "ls", "--status", "unsubscribed"}, out: []string{"zhao@example.com"}, notOut: []string{"Wang.Fang"}},
		{args: []string{"sub", "add", "zhao@example.com"}, code: 1, errs: []string{"already on list keji (unsubscribed)"}},
		{args: []string{"sub", "status", "zhao@example.com", "blocked"}, out: []string{"zhao@example.com on list keji is now blocked"}},
		{args: []string{"sub", "status", "zhao@example.com", "gone"}, code: 2, errs: []string{`status "gone"`}},
		{args: []string{"sub", "ls", "--status", "blocked", "--json"}, out: []string{`"email":"zhao@example.com"`, `"status":"blocked"`}},
		{args: []string{"sub", "show", "wang.fang@example.com"}, out: []string{"email:  Wang.Fang@example.com", "name:   王芳", "keji", "confirmed", "space"}},
		{args: []string{"sub", "show", "nobody@example.com"}, code: 1, errs: []string{"nobody@example.com: not found"}},
		{args: []string{"sub", "delete", "zhao@EXAMPLE.com"}, out: []string{"erased zhao@EXAMPLE.com"}},
		{args: []string{"sub", "show", "zhao@example.com"}, code: 1, errs: []string{"not found"}},
		{args: []string{"sub", "delete", "zhao@example.com"}, code: 1, errs: []string{"tidings: zhao@example.com: not found\n"}},
		{args: []string{"sub", "frob"}, code: 2, errs: []string{`unknown subcommand "frob"`}},
	})

	out := mustRunCLI(t, env, "sub", "ls", "--json")
	hasKeys(t, out, "email", "name", "status", "topics")
	var recs []struct {
		Email, Name, Status string
		Topics              []string
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Email != "Wang.Fang@example.com" || !reflect.DeepEqual(recs[0].Topics, []string{"space"}) ||
		!reflect.DeepEqual(recs[1].Topics, []string{"all"}) || recs[1].Name != "李雷" {
		t.Errorf("sub ls --json: %+v", recs)
	}

	out = mustRunCLI(t, env, "sub", "show", "wang.fang@example.com", "--json")
	var show struct {
		Email string
		Name  string
		Lists []struct {
			List, Status string
			Topics       []string
		}
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	if show.Email != "Wang.Fang@example.com" || len(show.Lists) != 1 || show.Lists[0].List != "keji" || !reflect.DeepEqual(show.Lists[0].Topics, []string{"space"}) {
		t.Errorf("sub show --json: %s", out)
	}
}

func TestSubImport(t *testing.T) {
	env := newKejiEnv(t)
	good := writeTestFile(t, "good.csv", []byte("\uFEFFemail,name,topics,status\n"+
		"a@example.com,Anna,ai;chips,\n"+
		"b@example.com,\"Bo, Jr.\",all,pending\n"+
		"c@example.com,,,\n"))
	bad := writeTestFile(t, "bad.csv", []byte(
		"d@example.com,Dee,space\n"+
			"not-an-email,X\n"+
			"e@example.com,Eve,sport\n"+
			"D@EXAMPLE.COM,Dee again\n"+
			"f@example.com,F\"x,ai\n"+
			"g@example.com,Gee,,unknown\n"+
			"h@example.com,Aitch\n"))
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("邮箱,姓名,主题\nwang@example.com,王芳,ai\nli@example.com,李雷,chips;space\n")
	if err != nil {
		t.Fatal(err)
	}
	gbkFile := writeTestFile(t, "excel.csv", []byte(gbk))

	runSteps(t, env, []cliStep{
		{args: []string{"sub", "import", good, "--dry-run"}, errs: []string{"dry run: would import 3 rows into list keji (3 added, 0 updated, 0 unchanged), 0 bad rows"}},
		{args: []string{"sub", "ls", "--json"}, out: []string{"[]"}},
		{args: []string{"sub", "import", good}, errs: []string{"imported 3 rows into list keji (3 added, 0 updated, 0 unchanged), 0 bad rows"}},
		{args: []string{"sub", "import", good}, errs: []string{"imported 3 rows into list keji (0 added, 0 updated, 3 unchanged), 0 bad rows"}},
		{args: []string{"sub", "import", bad}, code: 1, errs: []string{
			"2: email \"not-an-email\": not an address",
			"3: unknown topic \"sport\" (known: ai, chips, space)",
			"4: duplicate address D@example.com (first on line 1)",
			"5: malformed CSV",
			"6: status \"unknown\"",
			"imported 2 rows into list keji (2 added, 0 updated, 0 unchanged), 5 bad rows",
			"tidings: import " + bad + ": 5 bad rows skipped",
		}},
		{args: []string{"sub", "import", gbkFile}, errs: []string{"read as GB18030", "imported 2 rows"}},
		{args: []string{"sub", "show", "li@example.com"}, out: []string{"李雷", "chips;space"}},
		{args: []string{"sub", "import", "-"}, stdin: "i@example.com,Eye,none\n", errs: []string{"imported 1 rows"}},
		{args: []string{"sub", "import", "/nonexistent/x.csv"}, code: 1, errs: []string{"import: open /nonexistent/x.csv"}},
		{args: []string{"sub", "import", good, "--topics", "sport"}, code: 1, errs: []string{`unknown topic "sport"`}},
		{args: []string{"sub", "import"}, code: 2, errs: []string{"want FILE.csv"}},
		{args: []string{"sub", "export", "--format", "xml"}, code: 2, errs: []string{`--format "xml"`}},
	})
	// Bad rows left no trace, good rows of the same file went in.
	out := mustRunCLI(t, env, "sub", "ls")
	for _, w := range []string{"d@example.com", "h@example.com", "Bo, Jr.", "wang@example.com"} {
		if !strings.Contains(out, w) {
			t.Errorf("sub ls lacks %q:\n%s", w, out)
		}
	}
	for _, w := range []string{"\ne@example.com", "\nf@example.com", "\ng@example.com", "Dee again"} {
		if strings.Contains(out, w) {
			t.Errorf("sub ls has %q from a bad row:\n%s", w, out)
		}
	}

	// Export, import into an empty database, export again: the same.
	csv1 := mustRunCLI(t, env, "sub", "export")
	file := writeTestFile(t, "export.csv", []byte(csv1))
	env2 := newKejiEnv(t)
	_, errs, code := runCLI(t, env2, "", "sub", "import", file)
	if code != 0 {
		t.Fatalf("import of export: exit %d: %s", code, errs)
	}
	if csv2 := mustRunCLI(t, env2, "sub", "export"); csv2 != csv1 {
		t.Errorf("round trip differs:\n%s\n---\n%s", csv1, csv2)
	}
	if !strings.Contains(csv1, "b@example.com,\"Bo, Jr.\",all,pending\n") || !strings.Contains(csv1, "i@example.com,Eye,none,confirmed\n") {
		t.Errorf("export:\n%s", csv1)
	}
	js1 := mustRunCLI(t, env, "sub", "export", "--format", "json")
	js2 := mustRunCLI(t, env2, "sub", "export", "--format", "json")
	if js1 != js2 {
		t.Errorf("json exports differ:\n%s\n%s", js1, js2)
	}
	hasKeys(t, js1, "email", "name", "status", "topics")

	// The JSON export imports back too, here through stdin.
	env3 := newKejiEnv(t)
	if _, errs, code := runCLI(t, env3, js1, "sub", "import", "-"); code != 0 {
		t.Fatalf("import of json export: exit %d: %s", code, errs)
	}
	if csv3 := mustRunCLI(t, env3, "sub", "export"); csv3 != csv1 {
		t.Errorf("json round trip differs:\n%s\n---\n%s", csv1, csv3)
	}
}

// TestSubDeleteLeavesNoBytes runs sub delete through the CLI and greps the
// database file and its WAL for the address.
func TestSubDeleteLeavesNoBytes(t *testing.T) {
	env := newKejiEnv(t)
	mustRunCLI(t, env, "sub", "add", "Secret.Person-42@example.com", "--name", "Secret Name")
	mustRunCLI(t, env, "sub", "add", "keep@example.com")
	mustRunCLI(t, env, "sub", "delete", "secret.person-42@example.com")
	for _, f := range []string{env["TIDINGS_DB"], env["TIDINGS_DB"] + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		low := strings.ToLower(string(b))
		if strings.Contains(low, "secret.person-42") || strings.Contains(string(b), "Secret Name") {
			t.Errorf("%s still holds the erased person", f)
		}
	}
	if out := mustRunCLI(t, env, "sub", "ls"); !strings.Contains(out, "keep@example.com") {
		t.Errorf("other subscriber gone:\n%s", out)
	}
}
