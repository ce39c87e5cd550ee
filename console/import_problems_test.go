package console

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/schedule"
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

// The ops problems an editor meets most read in Chinese; they come from
// the real parsers (schedule times, addresses).
func TestOpsProblemsInChinese(t *testing.T) {
	h := &handler{}
	r := httptest.NewRequest("GET", "/admin/", nil)
	r.Header.Set("Accept-Language", "zh-CN")
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	d := dbtest.MustOpenDB(t)
	if _, err := d.W.Exec(`INSERT INTO lists (id, slug, name, from_addr, created_at) VALUES (1, 'l', 'L', 'n@example.org', 1);
		INSERT INTO issues (id, list_id, number, title, created_at) VALUES (1, 1, 1, 'T', 1)`); err != nil {
		t.Fatal(err)
	}
	_, past := schedule.NewStore(d).AddOnce(context.Background(), 1, now.AddDate(-1, 0, 0), "UTC")
	_, format := schedule.ParseTime("next tuesday", time.UTC, now)
	_, addr := tidings.ParseEmail("not-an-address")
	for _, err := range []error{past, format, addr} {
		if err == nil {
			t.Fatal("the parser accepted bad input")
		}
		zh := h.opsProblem(r, err.Error())
		if !strings.ContainsFunc(zh, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
			t.Errorf("no Chinese for %q", err)
		}
	}
	r.Header.Set("Accept-Language", "en")
	if got := h.opsProblem(r, past.Error()); got != "" {
		t.Errorf("an English page got %q", got)
	}
}
