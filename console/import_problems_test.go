package console

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/tidings/tidings/issues"
)

// Every problem the importer reports reads in Chinese on a Chinese page.
// The inputs are real bad files run through the real parser, so a message
// reworded in package issues without a pattern here fails this test.
func TestImportProblemsInChinese(t *testing.T) {
	bad := []struct{ name, src string }{
		{"empty", ""},
		{"latin1", "# T\n\nNo. 1\n\nbad \xe9t\xe9\n"},
		{"nul", "# T\x00\n"},
		{"no title", "Some text.\n\n## An article\n\nBody.\n\n## Another\n\nMore.\n"},
		{"no number", "# Title\n\n## A\n\nx.\n"},
		{"no articles", "---\ntitle: T\nnumber: 1\n---\n\nIntro only.\n"},
		{"fm not closed", "---\ntitle: T\nnumber: 1\n\n## A\n"},
		{"toml not closed", "+++\ntitle = \"T\"\n\n## A\n"},
		{"fm no title", "---\nnumber: 1\n---\n\n## A\n\nx\n"},
		{"fm no number", "---\ntitle: T\n---\n\n## A\n\nx\n"},
		{"fm unknown key", "---\ntitle: T\nnumber: 1\ncolour: blue\n---\n\n## A\n\nx\n"},
		{"fm yaml syntax", "---\ntitle: [T\nnumber: 1\n---\n\n## A\n\nx\n"},
		{"meta unknown key", "Title: T\nNumber: 1\nColour: blue\n\n## A\n\nx\n"},
		{"meta bad number", "Title: T\nNumber: seven\n\n## A\n\nx\n"},
		{"meta twice", "Title: T\nTitle: U\nNumber: 1\n\n## A\n\nx\n"},
		{"meta not key value", "Title: T\nNumber: 1\nthis line has no key\n\n## A\n\nx\n"},
		{"toml array", "+++\ntitle = [\"T\"]\nnumber = 1\n+++\n\n## A\n\nx\n"},
		{"heading attribute", "---\ntitle: T\nnumber: 1\n---\n\n## A {colour=red}\n\nx\n"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			_, err := issues.Parse(b.name+".md", []byte(b.src))
			var pe *issues.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: %v, want a parse error", err)
			}
			checkChinese(t, pe.Msg)
		})
	}
	// The store's check of heading topics against the list.
	for _, msg := range []string{`unknown topic "space" (known: ai, biomed)`, `unknown topic "space" (the list has no topics yet)`} {
		checkChinese(t, msg)
	}
	if got := importProblemZH(`unknown topic "space" (known: ai, biomed)`); got != `未知主题 "space"（现有主题：ai, biomed）` {
		t.Errorf("quoted parts not carried over: %q", got)
	}
}

func checkChinese(t *testing.T, msg string) {
	t.Helper()
	zh := importProblemZH(msg)
	if zh == msg || !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("no Chinese for the importer's %q", msg)
	}
}
