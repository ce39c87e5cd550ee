package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the header of a report's CSV export: one long table, one
// figure per row, so that every section fits one shape and a spreadsheet
// pivot (or a filter on section and metric) gives any table back.
//
//	section         item                   label          metrics
//	summary         (empty)                (empty)        recipients, delivered, bounced, bounced_hard, bounced_soft,
//	                                                      complaints, unsubscribed, opens_human, opens_machine,
//	                                                      clicks_human, clicks_machine, unique_clickers (empty when null)
//	article         position               title          recipients, clicks_human, clicks_machine
//	topic           slug                   name           recipients, clicks_human, reader_clicks_human
//	link            position.index         URL            recipients, clicks_human, clicks_machine
//	machine_reason  rule (e.g. user_agent) (empty)        events
//	timeline        hour (RFC 3339, UTC)   (empty)        clicks_human
var CSVHeader = []string{"issue", "section", "item", "label", "metric", "value"}

// WriteCSV writes r as CSV (UTF-8, comma-separated, RFC 4180 quoting).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	id := strconv.FormatInt(r.Issue, 10)
	rows := [][]string{CSVHeader}
	add := func(section, item, label, metric, value string) {
		rows = append(rows, []string{id, section, item, cell(label), metric, value})
	}
	num := strconv.Itoa
	for _, f := range []struct {
		metric string
		v      int
	}{
		{"recipients", r.Recipients}, {"delivered", r.Delivered}, {"bounced", r.Bounced},
		{"bounced_hard", r.BouncedHard}, {"bounced_soft", r.BouncedSoft}, {"complaints", r.Complaints},
		{"unsubscribed", r.Unsubscribed}, {"opens_human", r.Opens.Human}, {"opens_machine", r.Opens.Machine},
		{"clicks_human", r.Clicks.Human}, {"clicks_machine", r.Clicks.Machine},
	} {
		add("summary", "", "", f.metric, num(f.v))
	}
	unique := ""
	if r.UniqueClickers != nil {
		unique = num(*r.UniqueClickers)
	}
	add("summary", "", "", "unique_clickers", unique)
	for _, a := range r.Articles {
		p := num(a.Position)
		add("article", p, a.Title, "recipients", num(a.Recipients))
		add("article", p, a.Title, "clicks_human", num(a.ClicksHuman))
		add("article", p, a.Title, "clicks_machine", num(a.ClicksMachine))
	}
	for _, t := range r.Topics {
		add("topic", t.Slug, t.Name, "recipients", num(t.Recipients))
		add("topic", t.Slug, t.Name, "clicks_human", num(t.ClicksHuman))
		add("topic", t.Slug, t.Name, "reader_clicks_human", num(t.ReaderClicksHuman))
	}
	for _, l := range r.Links {
		k := num(l.Position) + "." + num(l.Index)
		add("link", k, l.URL, "recipients", num(l.Recipients))
		add("link", k, l.URL, "clicks_human", num(l.ClicksHuman))
		add("link", k, l.URL, "clicks_machine", num(l.ClicksMachine))
	}
	for _, reason := range sortedReasons(r.MachineReasons) {
		add("machine_reason", reason, "", "events", num(r.MachineReasons[reason]))
	}
	for _, p := range r.Timeline {
		add("timeline", p.At.UTC().Format(time.RFC3339), "", "clicks_human", num(p.Human))
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write report csv: %w", err)
	}
	return nil
}

// TrendHeader is the header of a trend's CSV export: one row per issue.
var TrendHeader = []string{"issue", "number", "title", "sent_at", "recipients", "delivered", "bounced",
	"complaints", "unsubscribed", "opens_human", "opens_machine", "clicks_human", "clicks_machine", "unique_clickers"}

// WriteTrendCSV writes a trend as CSV, one row per issue, newest first.
func WriteTrendCSV(w io.Writer, rs []Report) error {
	cw := csv.NewWriter(w)
	rows := [][]string{TrendHeader}
	num := strconv.Itoa
	for _, r := range rs {
		unique, sent := "", ""
		if r.UniqueClickers != nil {
			unique = num(*r.UniqueClickers)
		}
		if !r.SentAt.IsZero() {
			sent = r.SentAt.UTC().Format(time.RFC3339)
		}
		rows = append(rows, []string{strconv.FormatInt(r.Issue, 10), num(r.Number), cell(r.Title), sent,
			num(r.Recipients), num(r.Delivered), num(r.Bounced), num(r.Complaints), num(r.Unsubscribed),
			num(r.Opens.Human), num(r.Opens.Machine), num(r.Clicks.Human), num(r.Clicks.Machine), unique})
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write trend csv: %w", err)
	}
	return nil
}

// cell keeps a text a spreadsheet would run as a formula from being one
// (OWASP "CSV injection"): such a cell gets a leading apostrophe.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// sortedReasons are the keys of m in a stable order: most events first.
func sortedReasons(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ { // few keys
		for j := i; j > 0 && (m[keys[j]] > m[keys[j-1]] || m[keys[j]] == m[keys[j-1]] && keys[j] < keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// SortedReasons are the machine reasons of r, most events first.
func (r *Report) SortedReasons() []string { return sortedReasons(r.MachineReasons) }
