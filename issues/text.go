package issues

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalize keeps only letters and digits, lower-cased: what is left of a
// title once quotes, punctuation, spaces and emphasis stop mattering.
func normalize(s string) []rune {
	var out []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToLower(r))
		}
	}
	return out
}

// bigrams is the set of adjacent rune pairs of a normalised string; a
// string of one rune is its own single "bigram".
func bigrams(rs []rune) map[[2]rune]bool {
	m := make(map[[2]rune]bool, len(rs))
	if len(rs) == 1 {
		m[[2]rune{rs[0], 0}] = true
	}
	for i := 0; i+1 < len(rs); i++ {
		m[[2]rune{rs[i], rs[i+1]}] = true
	}
	return m
}

// similarity compares two titles in [0, 1] by their character bigrams.
// Character bigrams work for Chinese (no word breaks) and Latin alike. The
// score is the Dice coefficient, or, when one title is much like a part of
// the other (a shortened table-of-contents entry), 0.9 × the overlap
// coefficient, whichever is higher.
func similarity(a, b string) float64 {
	na, nb := normalize(a), normalize(b)
	if len(na) == 0 || len(nb) == 0 {
		return 0
	}
	if string(na) == string(nb) {
		return 1
	}
	A, B := bigrams(na), bigrams(nb)
	inter := 0
	for k := range A {
		if B[k] {
			inter++
		}
	}
	dice := 2 * float64(inter) / float64(len(A)+len(B))
	small := min(len(A), len(B))
	if small >= 4 {
		if ov := 0.9 * float64(inter) / float64(small); ov > dice {
			return ov
		}
	}
	return dice
}

// isCJK reports runes of scripts written without spaces between words, and
// the full-width punctuation that goes with them.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF) ||
		r == '“' || r == '”' || r == '‘' || r == '’' || r == '…' || r == '—' || r == '·'
}

// closers end a sentence or a clause that may stand at the end of a
// paragraph: a paragraph ending in anything else was cut by a page break.
const closers = "。！？…」』”’）)]】》〉：:；;.!?\"'—–．｡~～|>"

// trailingMarkup is what may follow the last real character of a paragraph
// without changing how it ends.
const trailingMarkup = " \t*_`\\"

// endURLRe is a paragraph ending in a bare URL ("原文链接：https://…"):
// the URL ends it, and gluing the next paragraph on would break the link.
var endURLRe = regexp.MustCompile(`(?i)(?:https?://|www\.)\S+$`)

// closed reports whether a paragraph's text ends the way a paragraph can.
func closed(s string) bool {
	s = strings.TrimRight(s, trailingMarkup)
	s = strings.TrimSuffix(s, "<br>")
	if s == "" {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(closers, r) || endURLRe.MatchString(s)
}

// joinText glues the two halves of a paragraph cut by a page break: no
// space next to CJK text (a space there would show), one space between
// Latin words, none after a hyphen.
func joinText(a, b string) string {
	a = strings.TrimRight(a, " \t")
	b = strings.TrimLeft(b, " \t")
	if a == "" || b == "" {
		return a + b
	}
	ra, _ := utf8.DecodeLastRuneInString(a)
	rb, _ := utf8.DecodeRuneInString(b)
	if isCJK(ra) || isCJK(rb) || ra == '-' || ra == '/' {
		return a + b
	}
	return a + " " + b
}
