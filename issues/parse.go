package issues

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tidings/tidings"
)

// ErrParse marks a file that cannot become an issue. Errors wrapping it are
// *ParseError values whose message is "FILE:LINE: what is wrong".
var ErrParse = errors.New("cannot import issue")

// ParseError is a bad input file, pointing at the line an editor must fix.
type ParseError struct {
	File string
	Line int // 1-based; 0 when no single line is at fault
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap lets errors.Is(err, ErrParse) recognise every ParseError.
func (e *ParseError) Unwrap() error { return ErrParse }

func perr(file string, line int, format string, a ...any) error {
	return &ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, a...)}
}

// parsed is an issue with what Import needs to report errors against the
// file: the heading line of each article and whether its topics were
// written in the file.
type parsed struct {
	issue *tidings.Issue
	lines []int // per article: the line of its heading
}

// Parse reads an issue file: either the explicit format (YAML front matter,
// one "## " heading per article, topics in a {topics=a,b} attribute) or a
// bulletin as its publisher writes it (masthead, table of contents,
// articles, colophon; see the package documentation). It touches no
// database; topic slugs are checked against a list by Store.Import.
// Articles without a topics attribute have TaggedBy keywords and no topics.
func Parse(name string, src []byte) (*tidings.Issue, error) {
	p, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	return p.issue, nil
}

func parse(name string, src []byte) (*parsed, error) {
	if !utf8.Valid(src) {
		bad := 0
		for bad < len(src) {
			r, size := utf8.DecodeRune(src[bad:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			bad += size
		}
		line := bytes.Count(src[:bad], []byte("\n")) + 1
		return nil, perr(name, line, "not UTF-8 text (byte %#02x); convert the file to UTF-8", src[bad])
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, perr(name, bytes.Count(src[:i], []byte("\n"))+1, "binary data (NUL byte), not a Markdown file")
	}
	text := strings.TrimPrefix(string(src), "\uFEFF")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	if strings.TrimSpace(text) == "" {
		return nil, perr(name, 1, "empty file")
	}
	lines := strings.Split(text, "\n")
	is := &tidings.Issue{Source: string(src), Status: tidings.IssueDraft}

	var p *parsed
	var err error
	switch first := strings.TrimRight(lines[0], " \t"); {
	case first == "---":
		p, err = parseExplicit(name, lines, is, yamlHead)
	case first == "+++":
		p, err = parseExplicit(name, lines, is, tomlHead)
	case isMetaLine(first):
		p, err = parseExplicit(name, lines, is, metaHead)
	default:
		p, err = parseBulletin(name, lines, is)
	}
	if err != nil {
		return nil, err
	}
	for i := range p.issue.Articles {
		p.issue.Articles[i].Position = i + 1
	}
	return p, nil
}

// frontMatter is the head of the explicit format, written as YAML front
// matter (---), TOML front matter (+++) or MultiMarkdown/Pelican-style
// "Key: value" lines (see head.go).
type frontMatter struct {
	Title     string `yaml:"title" toml:"title"`
	Number    int    `yaml:"number" toml:"number"`
	Date      string `yaml:"date" toml:"date"`
	Subject   string `yaml:"subject" toml:"subject"`
	Preheader string `yaml:"preheader" toml:"preheader"`
	Masthead  string `yaml:"masthead" toml:"masthead"`
	Footer    string `yaml:"footer" toml:"footer"`

	// Accepted and ignored (ignoredMetaKeys), so that YAML's strict
	// decoding refuses only keys nobody writes.
	Author      any `yaml:"author"`
	Authors     any `yaml:"authors"`
	Category    any `yaml:"category"`
	Categories  any `yaml:"categories"`
	Tags        any `yaml:"tags"`
	Slug        any `yaml:"slug"`
	Lang        any `yaml:"lang"`
	Status      any `yaml:"status"`
	Modified    any `yaml:"modified"`
	Draft       any `yaml:"draft"`
	Description any `yaml:"description"`
	Layout      any `yaml:"layout"`
	Keywords    any `yaml:"keywords"`
	CSS         any `yaml:"css"`
}

var yamlLineRe = regexp.MustCompile(`line (\d+): (.*)`)

// yamlUnknownRe is yaml.v3's word for a key frontMatter has no field for.
var yamlUnknownRe = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// yamlParserProblems are the messages of yaml.v3's parser (as opposed to
// its scanner and decoder). For those, yaml.v3 v3.0.1 prints the 0-based
// line of the mark in its "line N:" prefix, and no prefix at all on the
// first line, while scanner and type errors give the 1-based line.
var yamlParserProblems = []string{"did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected <document start>",
	"did not find expected '-' indicator", "did not find expected key", "did not find expected node content", "did not find expected <stream-start>",
	"found duplicate %YAML directive", "found duplicate %TAG directive", "found incompatible YAML document", "found undefined tag handle"}

// yamlErrorLine is the 1-based line within the YAML text that err points
// at, and err's message without the "yaml: line N:" prefix.
func yamlErrorLine(err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(yamlParserProblems, strings.TrimSpace(msg)) {
		line++
	}
	return max(line, 1), strings.Join(strings.Fields(msg), " ") // one line, whatever yaml said
}

// headParser reads the head of an explicit-format file: the metadata and
// the index of the first line after it.
type headParser func(name string, lines []string) (fm frontMatter, body int, err error)

// yamlHead reads YAML front matter between "---" lines.
func yamlHead(name string, lines []string) (frontMatter, int, error) {
	var fm frontMatter
	end := -1
	for i := 1; i < len(lines); i++ {
		if t := strings.TrimRight(lines[i], " \t"); t == "---" || t == "..." {
			end = i
			break
		}
	}
	if end < 0 {
		return fm, 0, perr(name, 1, "front matter is not closed: add a line \"---\" after it")
	}
	dec := yaml.NewDecoder(strings.NewReader(strings.Join(lines[1:end], "\n")))
	dec.KnownFields(true)
	if err := dec.Decode(&fm); err != nil && !errors.Is(err, io.EOF) {
		// An error found at the end of the YAML (an unclosed bracket) is
		// reported past its last line: point at that line, not at "---".
		line, msg := yamlErrorLine(err)
		if m := yamlUnknownRe.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("unknown key %q (known: %s)", m[1], knownKeys()) // as the TOML and Key: value heads say it
		}
		return fm, 0, perr(name, min(line, end-1)+1, "front matter: %s", msg)
	}
	return fm, end + 1, nil
}

// parseExplicit reads the head, an optional introduction and one level-2
// heading per article. Nothing is guessed: no page-break joining, no
// colophon detection (the colophon is the head's footer).
func parseExplicit(name string, lines []string, is *tidings.Issue, head headParser) (*parsed, error) {
	fm, body, err := head(name, lines)
	if err != nil {
		return nil, err
	}
	end := body - 1
	if strings.TrimSpace(fm.Title) == "" {
		return nil, perr(name, 1, "front matter: title is missing")
	}
	if fm.Number <= 0 {
		return nil, perr(name, 1, "front matter: number is missing (want a positive issue number)")
	}
	is.Title = strings.TrimSpace(fm.Title)
	is.Number = fm.Number
	is.Date = strings.TrimSpace(fm.Date)
	is.Subject = strings.TrimSpace(fm.Subject)
	is.Preheader = strings.TrimSpace(fm.Preheader)
	is.Masthead = strings.TrimSpace(fm.Masthead)
	is.Footer = strings.TrimSpace(fm.Footer)

	blocks := scan(lines[end+1:], end+2)
	// A leading "# Title" repeating the front matter's title is dropped.
	if len(blocks) > 0 && blocks[0].kind == kHeading && blocks[0].level == 1 &&
		similarity(titleText(blocks[0].text), is.Title) == 1 {
		blocks = blocks[1:]
	}
	var starts []int
	for i, b := range blocks {
		if b.kind == kHeading && b.level == 2 {
			starts = append(starts, i)
		}
	}
	if len(starts) == 0 {
		return nil, perr(name, end+2, "no articles found: write one \"## Title\" heading per article")
	}
	is.Intro = render(blocks[:starts[0]])
	p := &parsed{issue: is}
	for n, s := range starts {
		stop := len(blocks)
		if n+1 < len(starts) {
			stop = starts[n+1]
		}
		a, err := makeArticle(name, blocks[s], blocks[s+1:stop], false)
		if err != nil {
			return nil, err
		}
		is.Articles = append(is.Articles, a)
		p.lines = append(p.lines, blocks[s].line)
	}
	return p, nil
}

var attrRe = regexp.MustCompile(`\s*\{([^{}]*)\}\s*$`)

// headingAttrs splits "Title {topics=a,b}" into the title and its topics.
// ok is false when the heading has no topics attribute; an empty
// {topics=} says "no topic" explicitly.
func headingAttrs(name string, line int, text string) (title string, topics []string, ok bool, err error) {
	m := attrRe.FindStringSubmatchIndex(text)
	if m == nil {
		return text, nil, false, nil
	}
	inner := text[m[2]:m[3]]
	if !strings.Contains(inner, "=") && !strings.HasPrefix(strings.TrimSpace(inner), "#") && !strings.HasPrefix(strings.TrimSpace(inner), ".") {
		return text, nil, false, nil // literal braces in a title
	}
	title = strings.TrimSpace(text[:m[0]])
	for _, f := range attrFields(inner) {
		k, v, hasEq := strings.Cut(f, "=")
		switch {
		case !hasEq && (strings.HasPrefix(f, "#") || strings.HasPrefix(f, ".")):
			// id and class attributes: harmless, ignored
		case hasEq && strings.EqualFold(k, "topics"):
			ok = true
			v = strings.Trim(v, `"'`)
			for _, s := range strings.Split(v, ",") {
				if s = strings.ToLower(strings.TrimSpace(s)); s != "" && !slices.Contains(topics, s) {
					topics = append(topics, s)
				}
			}
		default:
			return "", nil, false, perr(name, line, "unknown heading attribute %q (want {topics=slug,slug})", f)
		}
	}
	return title, topics, ok, nil
}

// attrFields splits attribute text at spaces outside quotes.
func attrFields(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote = r
			cur.WriteRune(r)
		case r == ' ' || r == '\t':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// makeArticle builds an article from its heading and body blocks.
func makeArticle(name string, head block, body []block, joinSplits bool) (tidings.Article, error) {
	text := head.text
	if head.kind == kPara { // a bold line used as a heading
		text = strings.Join(head.lines, " ")
	}
	title, topics, ok, err := headingAttrs(name, head.line, text)
	if err != nil {
		return tidings.Article{}, err
	}
	a := tidings.Article{Title: titleText(title), TaggedBy: tidings.TaggedByKeywords}
	if a.Title == "" {
		return a, perr(name, head.line, "article heading has no title")
	}
	if ok {
		a.Topics, a.TaggedBy = topics, tidings.TaggedByAttribute
	}
	if joinSplits {
		body = joinPageBreaks(body)
	}
	a.Body = renderBody(body)
	return a, nil
}

// render writes blocks back as Markdown, one blank line between blocks.
func render(bs []block) string {
	parts := make([]string, 0, len(bs))
	for _, b := range bs {
		parts = append(parts, strings.TrimRight(b.markdown(), " \t\n"))
	}
	return strings.TrimSpace(strings.Join(parts, "\n\n"))
}

// renderBody is render for an article body: headings inside an article are
// sub-headings, so none may outrank the article's own (rendered at level
// 2): they become level 3 at least, and lose the bold a PDF export wraps
// them in.
func renderBody(bs []block) string {
	out := make([]block, len(bs))
	for i, b := range bs {
		if b.kind == kHeading {
			lv := max(b.level, 3)
			b.lines = []string{strings.Repeat("#", lv) + " " + plainText(b.text)}
		}
		out[i] = b
	}
	return render(out)
}

// joinPageBreaks merges a paragraph that does not end like a paragraph
// with the paragraph after it: the PDF the Markdown came from broke a page
// (or a column) there. Lists, quotes, tables, code and headings are never
// joined, nor are short heading-like lines, nor a short line that does not
// end like a paragraph either (standalone).
func joinPageBreaks(bs []block) []block {
	var out []block
	for _, b := range bs {
		if n := len(out); n > 0 && b.kind == kPara && !boldOnly(b) && !standalone(b) {
			prev := &out[n-1]
			last := prev.lines[len(prev.lines)-1]
			if prev.kind == kPara && !closed(last) && !headingLike(*prev) {
				lines := append([]string(nil), prev.lines...)
				lines[len(lines)-1] = joinText(last, b.lines[0])
				prev.lines = append(lines, b.lines[1:]...)
				continue
			}
		}
		out = append(out, b)
	}
	return out
}

// standalone is a short one-line paragraph that does not end like a
// paragraph: a signature, a date, a figure caption under the paragraph
// before it. The second half of a page-break split is what was left of a
// paragraph, so it ends like one; a short piece that does not is a line
// of its own, and joining it would glue "某省科学技术厅" to "2023年11月20日".
func standalone(b block) bool {
	if len(b.lines) != 1 {
		return false
	}
	t := strings.TrimSpace(b.lines[0])
	return width(t) <= 60 && !closed(t)
}

// width is the display width of s: two columns for CJK characters, one
// for others, so that one limit fits Chinese and Latin lines alike.
func width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if isCJK(r) {
			n++
		}
	}
	return n
}

// captionRe is a figure or table caption ("图1 …", "表 2 …", "Figure 3 …"):
// a line of its own, never half of a split paragraph.
var captionRe = regexp.MustCompile(`^(?:附?[图表]\s*[\d一二三四五六七八九十]+|(?i:fig(?:ure)?\.?|table|chart)\s*\d+)(?:[\s:：.．、-]|$)`)

var ordinalRe = regexp.MustCompile(`^\s*(?:[（(]?[一二三四五六七八九十百]+[）)、．.]|[（(]\d{1,2}[）)]|\d{1,2}[、．]|\d{1,2}[.)]\s|第[一二三四五六七八九十百\d]+[章节部分条])`)

// headingLike is a one-line paragraph that stands on its own: a heading in
// all but markup (bold, or short and numbered: "一、…", "(2) …"), or a
// short "Label: value" line.
func headingLike(b block) bool {
	if boldOnly(b) {
		return true
	}
	if len(b.lines) != 1 {
		return false
	}
	t := strings.TrimSpace(b.lines[0])
	return (runeLen(t) <= 30 && ordinalRe.MatchString(t)) || (runeLen(t) <= 60 && (labelRe.MatchString(t) || captionRe.MatchString(t)))
}
