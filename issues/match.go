package issues

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

// MatchTopics is the slugs (in topic-id order) of the topics with a keyword
// that occurs in the article's title or body. A keyword with CJK text
// matches as a substring (Chinese has no word breaks); a Latin keyword
// matches case-insensitively on word boundaries, so "AI" finds "AI chips"
// but not "said". An article that matches nothing gets no topic, which the
// renderer reads as "for every reader".
func MatchTopics(a tidings.Article, topics []tidings.Topic) []string {
	ts := slices.Clone(topics)
	slices.SortStableFunc(ts, func(x, y tidings.Topic) int { return cmp.Compare(x.ID, y.ID) })
	text := strings.ToLower(a.Title + "\n" + a.Body)
	var out []string
	for _, t := range ts {
		for _, kw := range t.Keywords {
			if kw = strings.ToLower(strings.TrimSpace(kw)); kw != "" && containsKeyword(text, kw) {
				out = append(out, t.Slug)
				break
			}
		}
	}
	return out
}

// containsKeyword finds kw in text (both lower-case): anywhere for CJK
// keywords, else only where neither neighbour is a letter or digit.
func containsKeyword(text, kw string) bool {
	if strings.IndexFunc(kw, isCJK) >= 0 {
		return strings.Contains(text, kw)
	}
	for off := 0; ; {
		i := strings.Index(text[off:], kw)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(kw)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if !wordRune(before, start == 0) && !wordRune(after, end == len(text)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		off = start + size
	}
}

// wordRune: a letter or digit that would glue a Latin keyword into a longer
// word. CJK characters do not: "用AI做" contains the word "ai".
func wordRune(r rune, edge bool) bool {
	if edge {
		return false
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r)
}
