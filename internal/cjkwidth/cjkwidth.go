// Package cjkwidth measures text as a terminal shows it, so that tables
// of Chinese names and titles line up: wide and full-width characters
// take two columns.
package cjkwidth

import "golang.org/x/text/width"

// Width is the display width of s in terminal columns.
func Width(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
