package issues

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// kind is the sort of Markdown block the line scanner found. The scanner
// knows just enough CommonMark to find headings and paragraphs reliably
// (fenced code, lists and quotes are kept whole and never re-flowed);
// rendering is goldmark's job, not ours.
type kind int

const (
	kPara    kind = iota // a plain paragraph: the only kind that is joined across page breaks
	kHeading             // ATX or setext heading
	kList                // a list, with its nested items and continuation lines
	kCode                // fenced code
	kBreak               // thematic break (---, ***)
	kOther               // block quote, table, raw HTML: kept verbatim
)

// block is one Markdown block with the file line it starts on, so that
// every error can point at the line an editor has to fix.
type block struct {
	kind  kind
	line  int // 1-based line in the file
	lines []string
	level int    // headings: 1–6
	text  string // headings: the text without the #s
}

func (b block) markdown() string { return strings.Join(b.lines, "\n") }

var (
	atxRe       = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*))?$`)
	atxCloseRe  = regexp.MustCompile(`(?:^|[ \t]+)#+[ \t]*$`)
	fenceRe     = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	listRe      = regexp.MustCompile(`^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)`)
	breakRe     = regexp.MustCompile(`^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$`)
	otherRe     = regexp.MustCompile(`^ {0,3}(?:>|\||<[a-zA-Z!/?])`)
	setext1Re   = regexp.MustCompile(`^ {0,3}=+[ \t]*$`)
	setext2Re   = regexp.MustCompile(`^ {0,3}-+[ \t]*$`)
	indentedRe  = regexp.MustCompile(`^(?: {2,}|\t)\S`)
	listStripRe = regexp.MustCompile(`^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)`)
)

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// scan splits lines (the first of which is file line first) into blocks.
func scan(lines []string, first int) []block {
	var out []block
	i := 0
	for i < len(lines) {
		l := lines[i]
		switch {
		case blank(l):
			i++
		case fenceRe.MatchString(l):
			fence := strings.TrimSpace(fenceRe.FindString(l))
			j := i + 1
			for j < len(lines) {
				t := strings.TrimSpace(lines[j])
				if strings.HasPrefix(t, fence[:3]) && strings.Trim(t, fence[:1]) == "" && len(t) >= len(fence) {
					j++
					break
				}
				j++
			}
			out = append(out, block{kind: kCode, line: first + i, lines: lines[i:j]})
			i = j
		case atxRe.MatchString(l):
			m := atxRe.FindStringSubmatch(l)
			text := strings.TrimSpace(atxCloseRe.ReplaceAllString(m[2], ""))
			out = append(out, block{kind: kHeading, line: first + i, lines: lines[i : i+1], level: len(m[1]), text: text})
			i++
		case breakRe.MatchString(l):
			out = append(out, block{kind: kBreak, line: first + i, lines: lines[i : i+1]})
			i++
		case listRe.MatchString(l):
			j := i + 1
			for j < len(lines) {
				if !blank(lines[j]) {
					if atxRe.MatchString(lines[j]) || fenceRe.MatchString(lines[j]) || (breakRe.MatchString(lines[j]) && !listRe.MatchString(lines[j])) {
						break
					}
					j++
					continue
				}
				// A blank line ends the list unless an item or an indented
				// continuation follows.
				k := j
				for k < len(lines) && blank(lines[k]) {
					k++
				}
				if k < len(lines) && (listRe.MatchString(lines[k]) || indentedRe.MatchString(lines[k])) {
					j = k
					continue
				}
				break
			}
			out = append(out, block{kind: kList, line: first + i, lines: trimBlankTail(lines[i:j])})
			i = j
		case otherRe.MatchString(l):
			j := i + 1
			for j < len(lines) && !blank(lines[j]) && !atxRe.MatchString(lines[j]) {
				j++
			}
			out = append(out, block{kind: kOther, line: first + i, lines: lines[i:j]})
			i = j
		default:
			j := i + 1
			setext := 0
			for j < len(lines) {
				t := lines[j]
				if setext1Re.MatchString(t) {
					setext = 1
					break
				}
				if setext2Re.MatchString(t) {
					setext = 2
					break
				}
				if blank(t) || atxRe.MatchString(t) || fenceRe.MatchString(t) || breakRe.MatchString(t) || listRe.MatchString(t) || otherRe.MatchString(t) {
					break
				}
				j++
			}
			if setext > 0 {
				text := strings.TrimSpace(strings.Join(lines[i:j], " "))
				out = append(out, block{kind: kHeading, line: first + i, lines: []string{strings.Repeat("#", setext) + " " + text}, level: setext, text: text})
				i = j + 1
				continue
			}
			out = append(out, block{kind: kPara, line: first + i, lines: lines[i:j]})
			i = j
		}
	}
	return out
}

func trimBlankTail(ls []string) []string {
	for len(ls) > 0 && blank(ls[len(ls)-1]) {
		ls = ls[:len(ls)-1]
	}
	return ls
}

var linkRe = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// titleText is a heading or table-of-contents entry as plain text: no
// emphasis, and links reduced to their text.
func titleText(s string) string { return plainText(linkRe.ReplaceAllString(s, "$1")) }

// plainText is s without the Markdown emphasis markers that PDF exports
// sprinkle over titles, for comparing and for storing titles.
func plainText(s string) string {
	s = strings.TrimSpace(s)
	for {
		t := s
		for _, m := range []string{"***", "**", "__", "*", "_", "`"} {
			if len(s) > 2*len(m) && strings.HasPrefix(s, m) && strings.HasSuffix(s, m) {
				s = strings.TrimSpace(s[len(m) : len(s)-len(m)])
				break
			}
		}
		if s == t {
			break
		}
	}
	s = strings.ReplaceAll(s, "**", "")
	s = strings.ReplaceAll(s, "__", "")
	return s
}

// boldOnly reports a paragraph that is one line of bold text: the way many
// PDF exports mark a heading the converter did not recognise.
func boldOnly(b block) bool {
	if b.kind != kPara || len(b.lines) != 1 {
		return false
	}
	t := strings.TrimSpace(b.lines[0])
	return (strings.HasPrefix(t, "**") && strings.HasSuffix(t, "**") && len(t) > 4 && !strings.Contains(t[2:len(t)-2], "**")) ||
		(strings.HasPrefix(t, "__") && strings.HasSuffix(t, "__") && len(t) > 4 && !strings.Contains(t[2:len(t)-2], "__"))
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
