package issues

import (
	"reflect"
	"strings"
	"testing"
)

// The three head forms of the explicit format (YAML and TOML front matter,
// "Key: value" lines) read the same issue.
func TestHeadFormsReadTheSameIssue(t *testing.T) {
	want := mustParseFile(t, "testdata/explicit.md")
	want.Source = ""
	for _, path := range []string{"testdata/explicit-toml.md", "testdata/explicit-meta.md"} {
		t.Run(path, func(t *testing.T) {
			got := mustParseFile(t, path)
			got.Source = ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s reads\n%+v\nwant (as explicit.md)\n%+v", path, got, want)
			}
		})
	}
}

func TestHeadFormsBadInput(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"toml-unclosed.md", "+++\ntitle = \"T\"\nnumber = 1\n\n## A\n", "toml-unclosed.md:1: front matter is not closed: add a line \"+++\""},
		{"toml-syntax.md", "+++\ntitle = \"T\"\nnumber = = 1\n+++\n\n## A\n\nx\n", "toml-syntax.md:3: front matter:"},
		{"toml-unknown.md", "+++\ntitle = \"T\"\nnumber = 1\ncolour = \"blue\"\n+++\n\n## A\n\nx\n", `toml-unknown.md:4: front matter: unknown key "colour"`},
		{"toml-badnumber.md", "+++\ntitle = \"T\"\nnumber = \"seven\"\n+++\n\n## A\n\nx\n", `toml-badnumber.md:3: front matter: number "seven": want a positive whole number`},
		{"toml-array.md", "+++\ntitle = [\"T\"]\nnumber = 1\n+++\n\n## A\n\nx\n", "toml-array.md:2: front matter: title: want text or a number"},
		{"toml-notitle.md", "+++\nnumber = 1\n+++\n\n## A\n\nx\n", "toml-notitle.md:1: front matter: title is missing"},
		{"meta-unknown.md", "Title: T\nNumber: 1\nColour: blue\n\n## A\n\nx\n", `meta-unknown.md:3: header: unknown key "Colour"`},
		{"meta-notkv.md", "Title: T\nNumber: 1\nthis line has no key\n\n## A\n\nx\n", `meta-notkv.md:3: header: "this line has no key" is not a "Key: value" line`},
		{"meta-badnumber.md", "Title: T\nNumber: seven\n\n## A\n\nx\n", `meta-badnumber.md:2: header: number "seven": want a positive whole number`},
		{"meta-twice.md", "Title: T\nTitle: U\nNumber: 1\n\n## A\n\nx\n", "meta-twice.md:2: header: title given twice"},
		{"meta-nonumber.md", "Title: T\nDate: 2025-01-01\n\n## A\n\nx\n", "meta-nonumber.md:1: front matter: number is missing"},
		{"meta-noarticles.md", "Title: T\nNumber: 1\n\nJust an introduction.\n", "meta-noarticles.md:4: no articles found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.name, []byte(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse: %v\nwant an error starting %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

// A bulletin whose first line holds a colon but no known key stays a
// bulletin.
func TestMetaHeadNeedsAKnownKey(t *testing.T) {
	for line, want := range map[string]bool{
		"Title: Weekly": true, "Number: 3": true, "date: 2025-01-01": true,
		"Note: read me": false, "# 科技情报参考": false, "标题: 科技": false, "http://example.org": false,
	} {
		if got := isMetaLine(line); got != want {
			t.Errorf("isMetaLine(%q) = %v, want %v", line, got, want)
		}
	}
}

// Heads as Hugo (TOML), Jekyll (YAML) and Pelican write them carry keys a
// mail does not need (draft, tags, categories, author, layout…): every
// form accepts and ignores the same ones, whatever their value's type, and
// still refuses a key nobody writes, with its line.
func TestHeadsIgnoreTheirRepositoriesOwnKeys(t *testing.T) {
	files := map[string]string{
		"hugo.md":    "+++\ntitle = \"Weekly\"\nnumber = 7\ndraft = false\ntags = [\"ai\", \"bio\"]\ncategories = [\"news\"]\nauthor = \"Ada\"\ndescription = \"About AI\"\n+++\n\n## A\n\nx\n",
		"jekyll.md":  "---\nlayout: post\ntitle: Weekly\nnumber: 7\ntags: [ai, bio]\ncategories: news\nauthor: Ada\ndraft: false\n---\n\n## A\n\nx\n",
		"pelican.md": "Title: Weekly\nNumber: 7\nCategory: news\nTags: ai, bio\nAuthor: Ada\nDraft: false\n\n## A\n\nx\n",
	}
	for name, src := range files {
		is, err := Parse(name, []byte(src))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if is.Title != "Weekly" || is.Number != 7 || len(is.Articles) != 1 {
			t.Errorf("%s reads %q no. %d with %d articles", name, is.Title, is.Number, len(is.Articles))
		}
	}
	for _, k := range ignoredMetaKeys {
		if strings.Contains(k, " ") {
			continue // MultiMarkdown only ("base header level")
		}
		for name, src := range map[string]string{
			"toml": "+++\ntitle = \"T\"\nnumber = 1\n" + k + " = \"v\"\n+++\n\n## A\n\nx\n",
			"yaml": "---\ntitle: T\nnumber: 1\n" + k + ": v\n---\n\n## A\n\nx\n",
			"meta": "Title: T\nNumber: 1\n" + k + ": v\n\n## A\n\nx\n",
		} {
			if _, err := Parse(name+".md", []byte(src)); err != nil {
				t.Errorf("%s head with %q: %v", name, k, err)
			}
		}
	}
	if _, err := Parse("y.md", []byte("---\ntitle: T\nnumber: 1\ncolour: blue\n---\n\n## A\n\nx\n")); err == nil || !strings.HasPrefix(err.Error(), `y.md:4: front matter: unknown key "colour" (known: title`) {
		t.Errorf("YAML head with an unknown key: %v", err)
	}
}
