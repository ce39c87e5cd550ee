package main

import (
	"strings"
	"testing"
)

// A missing issue is named once, whichever command asked for it (preview
// used to say "preview: issue 99: issue 99: not found").
func TestIssueNotFoundMessages(t *testing.T) {
	env := issueEnv(t)
	mustRunCLI(t, env, "sub", "add", "a@example.cn", "--topics", "all")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"issue", "show", "99"}, "tidings: issue 99: not found\n"},
		{[]string{"issue", "retag", "99"}, "tidings: issue 99: not found\n"},
		{[]string{"issue", "tag", "99", "1", "all"}, "tidings: issue 99: not found\n"},
		{[]string{"issue", "preview", "99", "--to", "a@example.cn"}, "tidings: preview: issue 99: not found\n"},
	}
	for _, tt := range tests {
		out, errs, code := runCLI(t, env, "", tt.args...)
		if code != 1 || errs != tt.want || out != "" {
			t.Errorf("tidings %s: exit %d, stdout %q, stderr %q; want exit 1, %q", strings.Join(tt.args, " "), code, out, errs, tt.want)
		}
	}
}

// A front matter error names the line to fix, and nothing is stored.
func TestIssueImportFrontMatterLine(t *testing.T) {
	env := issueEnv(t)
	p := writeTestFile(t, "fm.md", []byte("---\ntitle: T\nnumber: [9\ndate: 2024-07-01\n---\n\n## A\n\nx.\n"))
	_, errs, code := runCLI(t, env, "", "issue", "import", p)
	if want := "tidings: " + p + ":3: front matter: did not find expected ',' or ']'\n"; code != 1 || errs != want {
		t.Errorf("exit %d, stderr %q; want exit 1, %q", code, errs, want)
	}
	if out := mustRunCLI(t, env, "issue", "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("issues after a refused import: %s", out)
	}
}
