package console

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/tidings/tidings/report"
)

// Geometry of the clicks chart, in SVG user units; the SVG scales to its
// box (viewBox), so one drawing serves desk and phone widths.
const (
	chartW, chartH       = 720, 240
	chartLeft, chartTop  = 44, 12
	chartRight, chartBot = 22, 30
)

// clicksChart draws human clicks per hour as an SVG bar chart, server-side
// (no script): role="img" with a <title> and <desc> for screen readers,
// a <title> per bar for pointer users, and the same figures in the data
// table the page prints under it. title and desc are plain text.
func clicksChart(points []report.Point, title, desc, hourLabel string) template.HTML {
	peak := 0
	for _, p := range points {
		peak = max(peak, p.Human)
	}
	top := niceCeil(peak)
	plotW := float64(chartW - chartLeft - chartRight)
	plotH := float64(chartH - chartTop - chartBot)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH)
	fmt.Fprintf(&b, `<title id="chart-title">%s</title><desc id="chart-desc">%s</desc>`, html.EscapeString(title), html.EscapeString(desc))
	// Grid lines and y-axis labels: 0, top/2, top.
	for _, v := range []int{0, top / 2, top} {
		y := float64(chartTop) + plotH - plotH*float64(v)/float64(top)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d5d9e0" stroke-width="1"/>`, chartLeft, chartW-chartRight, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="14" fill="#4a5261">%d</text>`, chartLeft-6, y+4, v)
	}
	n := len(points)
	if n > 0 {
		slot := plotW / float64(n)
		barW := slot * 0.72
		for i, p := range points {
			h := plotH * float64(p.Human) / float64(top)
			x := float64(chartLeft) + slot*float64(i) + (slot-barW)/2
			y := float64(chartTop) + plotH - h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2f6fdb"><title>%s %d–%d: %d</title></rect>`,
				x, y, barW, h, html.EscapeString(hourLabel), i, i+1, p.Human)
		}
		// X-axis labels every 6 hours, as hours after the send started.
		for i := 0; i <= n; i += 6 {
			x := float64(chartLeft) + slot*float64(i)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="14" fill="#4a5261">%d h</text>`, x, chartH-10, i)
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#4a5261" stroke-width="1"/>`,
		chartLeft, chartW-chartRight, chartH-chartBot, chartH-chartBot)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped; the rest are numbers
}

// niceCeil is the smallest of 2, 4, 6, 10, 20, 40, 60, 100, … (even, so the
// middle grid line is a whole number) at or above n.
func niceCeil(n int) int {
	for step := 1; ; step *= 10 {
		for _, m := range []int{2, 4, 6, 10} {
			if m*step >= n {
				return m * step
			}
		}
	}
}
