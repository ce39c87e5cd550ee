// number_and_date.go holds how a bulletin's edition number ("总第123期",
// "2024年第7期", "No. 12") and date are read from its masthead.

package issues

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	totalNumRe = regexp.MustCompile(`总第\s*(\d+|[零〇一二三四五六七八九十百两]+)\s*期`)
	cnNumRe    = regexp.MustCompile(`第\s*(\d+|[零〇一二三四五六七八九十百两]+)\s*期`)
	enNumRe    = regexp.MustCompile(`(?i)(?:\b(?:no|nr|number|issue|edition)\.?\s*#?\s*|(?:^|\s)#)(\d{1,6})\b`)
)

// findNumber reads the edition number. A running number ("总第123期")
// beats the number within the year ("2024年第7期"), because issue numbers
// are unique in a list across years.
func findNumber(lines []string) int {
	for _, re := range []*regexp.Regexp{totalNumRe, cnNumRe, enNumRe} {
		for _, l := range lines {
			l = asciiDigits(l)
			if m := re.FindStringSubmatch(l); m != nil {
				if n := parseNumeral(m[1]); n > 0 {
					return n
				}
			}
		}
	}
	return 0
}

// parseNumeral reads "12" or a Chinese numeral up to 999 ("十二", "一百零五").
func parseNumeral(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	digits := map[rune]int{'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
	total, cur := 0, 0
	for _, r := range s {
		switch r {
		case '百':
			total += max(cur, 1) * 100
			cur = 0
		case '十':
			total += max(cur, 1) * 10
			cur = 0
		default:
			d, ok := digits[r]
			if !ok {
				return 0
			}
			cur = d
		}
	}
	return total + cur
}

var (
	cnDateRe   = regexp.MustCompile(`(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日`)
	isoDateRe  = regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`)
	cnMonthRe  = regexp.MustCompile(`(\d{4})\s*年\s*(\d{1,2})\s*月`)
	enDateRe   = regexp.MustCompile(`(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})\b`)
	enDate2Re  = regexp.MustCompile(`(?i)\b(\d{1,2})\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b`)
	enMonthRe  = regexp.MustCompile(`(?i)\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b`)
	monthIndex = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
)

// findDate reads the edition's date as YYYY-MM-DD, or YYYY-MM when only
// the month is printed; empty when there is none.
func findDate(lines []string) string {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	lines = slices.Clone(lines)
	for i := range lines {
		lines[i] = asciiDigits(lines[i])
	}
	for _, l := range lines {
		if m := cnDateRe.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d-%02d", m[1], atoi(m[2]), atoi(m[3]))
		}
		if m := isoDateRe.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d-%02d", m[1], atoi(m[2]), atoi(m[3]))
		}
		if m := enDateRe.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d-%02d", m[3], monthIndex[strings.ToLower(m[1])], atoi(m[2]))
		}
		if m := enDate2Re.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d-%02d", m[3], monthIndex[strings.ToLower(m[2])], atoi(m[1]))
		}
	}
	for _, l := range lines {
		if m := cnMonthRe.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d", m[1], atoi(m[2]))
		}
		if m := enMonthRe.FindStringSubmatch(l); m != nil {
			return fmt.Sprintf("%s-%02d", m[2], monthIndex[strings.ToLower(m[1])])
		}
	}
	return ""
}

// asciiDigits turns full-width digits ("第７期") into ASCII ones.
func asciiDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '０' && r <= '９' {
			return '0' + (r - '０')
		}
		return r
	}, s)
}
