package issues

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The explicit format's head may be written three ways, as newsletter
// repositories do: YAML front matter between "---" lines (parse.go), TOML
// front matter between "+++" lines (Hugo, Zola), or MultiMarkdown and
// Pelican "Key: value" lines at the top, ended by a blank line. All three
// fill one frontMatter and refuse unknown keys with the line they are on.

// headKeys are the keys every head form knows, with the aliases the
// "Key: value" form meets in the wild.
var headKeys = map[string]string{
	"title": "title", "number": "number", "issue": "number", "date": "date",
	"subject": "subject", "preheader": "preheader", "summary": "preheader",
	"masthead": "masthead", "footer": "footer",
}

// ignoredMetaKeys are keys of Hugo, Jekyll, Pelican and MultiMarkdown heads
// that say nothing a mail needs; every head form accepts and ignores them
// rather than refusing them, so a file from such a repository imports as it
// is (frontMatter has a field for each one-word key, for YAML).
var ignoredMetaKeys = []string{"author", "authors", "category", "categories", "tags", "slug", "lang", "status", "modified",
	"draft", "description", "layout", "keywords", "base header level", "css"}

func knownKeys() string {
	keys := []string{"title", "number", "date", "subject", "preheader", "masthead", "footer"}
	return strings.Join(keys, ", ")
}

var metaLineRe = regexp.MustCompile(`^([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$`)

// isMetaLine reports whether a file's first line opens a "Key: value"
// head: a known key (Title, Number, Date…), so that a bulletin whose first
// line happens to hold a colon is not mistaken for one.
func isMetaLine(line string) bool {
	m := metaLineRe.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	_, ok := headKeys[strings.ToLower(m[1])]
	return ok
}

// metaHead reads "Key: value" lines up to the first blank line. A line
// that starts with white space continues the value above it
// (MultiMarkdown).
func metaHead(name string, lines []string) (frontMatter, int, error) {
	fields := map[string]string{}
	var last string
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			fields[last] += "\n" + strings.TrimSpace(line)
			continue
		}
		m := metaLineRe.FindStringSubmatch(line)
		if m == nil {
			return frontMatter{}, 0, perr(name, i+1, "header: %q is not a \"Key: value\" line; end the header with a blank line", line)
		}
		key := strings.ToLower(strings.Join(strings.Fields(m[1]), " "))
		if slices.Contains(ignoredMetaKeys, key) {
			last = ""
			continue
		}
		canon, ok := headKeys[key]
		if !ok {
			return frontMatter{}, 0, perr(name, i+1, "header: unknown key %q (known: %s)", m[1], knownKeys())
		}
		if _, dup := fields[canon]; dup {
			return frontMatter{}, 0, perr(name, i+1, "header: %s given twice", canon)
		}
		fields[canon] = strings.TrimSpace(m[2])
		last = canon
	}
	var fm frontMatter
	if err := fm.set(fields); err != nil {
		return fm, 0, perr(name, lineOf(lines[:i], ":", "number", "issue"), "header: %v", err)
	}
	return fm, i + 1, nil
}

// tomlHead reads TOML front matter between "+++" lines.
func tomlHead(name string, lines []string) (frontMatter, int, error) {
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], " \t") == "+++" {
			end = i
			break
		}
	}
	if end < 0 {
		return frontMatter{}, 0, perr(name, 1, "front matter is not closed: add a line \"+++\" after it")
	}
	var raw map[string]any
	_, err := toml.Decode(strings.Join(lines[1:end], "\n"), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return frontMatter{}, 0, perr(name, pe.Position.Line+1, "front matter: %s", pe.Message)
		}
		return frontMatter{}, 0, perr(name, 1, "front matter: %v", err)
	}
	fields := map[string]string{}
	for k, v := range raw {
		if slices.Contains(ignoredMetaKeys, strings.ToLower(k)) {
			continue
		}
		canon, ok := headKeys[strings.ToLower(k)]
		if !ok || canon != strings.ToLower(k) && strings.ToLower(k) != "summary" && strings.ToLower(k) != "issue" {
			return frontMatter{}, 0, perr(name, lineOf(lines[1:end], "=", k)+1, "front matter: unknown key %q (known: %s)", k, knownKeys())
		}
		switch v := v.(type) {
		case string:
			fields[canon] = v
		case int64:
			fields[canon] = strconv.FormatInt(v, 10)
		case time.Time:
			// A TOML date without a zone (date = 2024-07-12) is kept as
			// written, as the YAML head keeps it.
			switch v.Location().String() {
			case "date-local":
				fields[canon] = v.Format(time.DateOnly)
			case "datetime-local":
				fields[canon] = v.Format(time.DateTime)
			default:
				fields[canon] = v.Format(time.RFC3339)
			}
		default:
			return frontMatter{}, 0, perr(name, lineOf(lines[1:end], "=", k)+1, "front matter: %s: want text or a number, not %T", k, v)
		}
	}
	var fm frontMatter
	if err := fm.set(fields); err != nil {
		return fm, 0, perr(name, lineOf(lines[1:end], "=", "number")+1, "front matter: %v", err)
	}
	return fm, end + 1, nil
}

// set fills fm from canonical keys.
func (fm *frontMatter) set(fields map[string]string) error {
	fm.Title = fields["title"]
	fm.Date = fields["date"]
	fm.Subject = fields["subject"]
	fm.Preheader = fields["preheader"]
	fm.Masthead = fields["masthead"]
	fm.Footer = fields["footer"]
	if v, ok := fields["number"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(v, "#")))
		if err != nil || n <= 0 {
			return fmt.Errorf("number %q: want a positive whole number", v)
		}
		fm.Number = n
	}
	return nil
}

// lineOf is the 1-based line of the first of keys written with sep after
// it ("number:" or "number ="), or 1 when none is.
func lineOf(lines []string, sep string, keys ...string) int {
	for i, l := range lines {
		k, _, ok := strings.Cut(l, sep)
		if ok && slices.Contains(keys, strings.ToLower(strings.TrimSpace(k))) {
			return i + 1
		}
	}
	return 1
}
