package render

import (
	"strings"
	"unicode/utf8"
)

// width is where plain-text lines of Latin text wrap (RFC 5322's 78).
const width = 78

// wrapText breaks one paragraph into lines of at most w columns.
//
// Latin text wraps at spaces. Chinese text has no spaces and must not be
// broken mid-sentence (a line break inside a sentence shows as a gap or a
// mis-read in many clients), so the only other break allowed is after a
// sentence-ending mark (。！？；…, with closing quotes or brackets that
// follow it). A space next to a Chinese character (as in "2024 年") is not
// a break either. So a long Chinese sentence stays on one line, however
// wide: its line may pass 78 columns, which plain text allows, and the
// base64 transfer encoding keeps the encoded lines short anyway.
// Newlines in s (hard line breaks) are kept.
func wrapText(s string, w int) []string {
	var out []string
	for _, hard := range strings.Split(s, "\n") {
		out = append(out, wrapLine(strings.TrimRight(hard, " "), w)...)
	}
	return out
}

type unit struct {
	text  string
	space bool // followed by a space that the break replaces
}

func wrapLine(s string, w int) []string {
	if textWidth(s) <= w {
		return []string{s}
	}
	units := splitUnits(s)
	var lines []string
	var cur strings.Builder
	curW := 0
	pendingSpace := false
	for _, u := range units {
		uw := textWidth(u.text)
		sep := 0
		if pendingSpace {
			sep = 1
		}
		if cur.Len() > 0 && curW+sep+uw > w {
			lines = append(lines, cur.String())
			cur.Reset()
			curW, sep = 0, 0
		}
		if sep == 1 && cur.Len() > 0 {
			cur.WriteByte(' ')
			curW++
		}
		cur.WriteString(u.text)
		curW += uw
		pendingSpace = u.space
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// sentenceEnd marks end a Chinese sentence or clause a line may end after.
const sentenceEnd = "。！？；…!?"

// closers may follow a sentence end and stay on its line.
const closers = "”’」』）】》)\"'"

// sentenceEnds reports r ending a Chinese sentence after prev: a
// full-width mark ends one whatever stands before it (“独角兽企业新城”。),
// while "…", "!" and "?" do only after a wide character, since in Latin
// text they are followed by a space, which is the break.
func sentenceEnds(prev, r rune) bool {
	return strings.ContainsRune(sentenceEnd, r) && (isWide(r) || isWide(prev))
}

// splitUnits cuts s at its break opportunities.
func splitUnits(s string) []unit {
	var units []unit
	start := 0
	prev := rune(0)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		next, _ := utf8.DecodeRuneInString(s[i+size:])
		switch {
		case r == ' ':
			if !isWide(prev) && !isWide(next) && next != ' ' && i > start {
				units = append(units, unit{text: s[start:i], space: true})
				start = i + size
			}
		case sentenceEnds(prev, r) || strings.ContainsRune(closers, r) && strings.ContainsRune(sentenceEnd, prev):
			if next != utf8.RuneError && !strings.ContainsRune(closers, next) && !strings.ContainsRune(sentenceEnd, next) && next != ' ' {
				units = append(units, unit{text: s[start : i+size]})
				start = i + size
			}
		}
		prev = r
		i += size
	}
	if start < len(s) {
		units = append(units, unit{text: s[start:]})
	}
	return units
}
