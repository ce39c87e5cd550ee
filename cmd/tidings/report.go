package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/report"
)

func newReportCmd(a *App) *cobra.Command {
	var asJSON, asCSV bool
	var list string
	var last int
	c := &cobra.Command{
		Use:   "report {ID | --list SLUG [--last N]} [--json | --csv]",
		Short: "Show how an issue did, or the trend over a list's last issues",
		Long: `report ID shows one issue's figures: recipients, delivered, bounces,
complaints, readers who unsubscribed after it, opens and clicks counted
apart for people and machines (with the rules that decided), and per
article, topic and link the recipients and human clicks.

report --list SLUG --last N shows the list's last N sent issues, newest
first, one line each. --json prints the CONTRACT keys; --csv the CSV
export (see README "Reports").`,
		Args: rangeArgs(0, 1, "ID or --list SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON && asCSV {
				return usagef("report: --json and --csv: choose one")
			}
			lastSet := cmd.Flags().Changed("last")
			switch {
			case len(args) == 1 && list != "":
				return usagef("report: give an issue ID or --list, not both")
			case len(args) == 0 && list == "":
				return usagef("report: want an issue ID, or --list SLUG for the trend")
			case lastSet && list == "":
				return usagef("report: --last goes with --list")
			case list != "" && (last < 1 || last > report.MaxTrend):
				return usagef("report: --last %d: want 1 to %d", last, report.MaxTrend)
			}
			ctx := cmd.Context()
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			if list != "" {
				rs, err := svc.Trend(ctx, ops.CLI(), list, last)
				if err != nil {
					return err
				}
				switch {
				case asJSON:
					return a.printJSON(rs)
				case asCSV:
					return report.WriteTrendCSV(a.Stdout, rs)
				}
				return printTrend(a.Stdout, list, rs)
			}
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			r, err := svc.Report(ctx, ops.CLI(), id)
			if err != nil {
				return err
			}
			switch {
			case asJSON:
				return a.printJSON(r)
			case asCSV:
				return report.WriteCSV(a.Stdout, r)
			}
			return printReport(a.Stdout, r)
		},
	}
	jsonFlag(c, &asJSON)
	c.Flags().BoolVar(&asCSV, "csv", false, "print the report as CSV")
	c.Flags().StringVar(&list, "list", "", "show the trend over this list's last issues")
	c.Flags().IntVar(&last, "last", 10, "how many issues the trend covers (1 to 100)")
	return c
}

// sharePct is part of whole as a rounded percentage ("–" when whole is 0).
func sharePct(part, whole int) string {
	if whole == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 0, 64) + "%"
}

// printReport writes the readable report: figures, then the machine
// reasons, then the article, topic and link tables.
func printReport(w io.Writer, r *report.Report) error {
	ew := &reportWriter{w: w}
	sent := "not sent"
	if !r.SentAt.IsZero() {
		sent = "send started " + r.SentAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	ew.printf("Issue %d (#%d) %s\nlist %s, %s, %s\n\n", r.Issue, r.Number, r.Title, r.List, r.Status, sent)
	t := newTable(ew, "recipients", strconv.Itoa(r.Recipients))
	t.row("delivered", strconv.Itoa(r.Delivered)+"  ("+sharePct(r.Delivered, r.Recipients)+")")
	t.row("bounced", fmt.Sprintf("%d  (hard %d, soft %d)", r.Bounced, r.BouncedHard, r.BouncedSoft))
	t.row("complaints", strconv.Itoa(r.Complaints))
	t.row("unsubscribed", strconv.Itoa(r.Unsubscribed)+"  (after this issue, before the next)")
	opens := countsLine(r.Opens, r.OpensTracking)
	if r.OpensTracking != "off" || r.Opens.Total > 0 {
		opens += "  (estimates: images blocked, proxies)"
	}
	t.row("opens", opens)
	t.row("clicks", countsLine(r.Clicks, r.ClicksTracking))
	if r.UniqueClickers != nil {
		t.row("unique clickers", strconv.Itoa(*r.UniqueClickers)+"  ("+sharePct(*r.UniqueClickers, r.Delivered)+" of delivered)")
	}
	if err := t.flush(); err != nil {
		return err
	}
	if reasons := r.SortedReasons(); len(reasons) > 0 {
		ew.printf("\nCounted as machine, by rule:\n")
		t = newTable(ew, "  RULE", "EVENTS", "WHY")
		for _, k := range reasons {
			t.row("  "+k, strconv.Itoa(r.MachineReasons[k]), report.ReasonLabel(k, "en"))
		}
		t.flush()
	}
	ew.printf("\nArticles:\n")
	t = newTable(ew, "  #", "RECIPIENTS", "HUMAN CLICKS", "MACHINE", "TOPICS", "TITLE")
	for _, ar := range r.Articles {
		topics := strings.Join(ar.Topics, ",")
		if topics == "" {
			topics = "(everyone)"
		}
		t.row("  "+strconv.Itoa(ar.Position), strconv.Itoa(ar.Recipients), strconv.Itoa(ar.ClicksHuman),
			strconv.Itoa(ar.ClicksMachine), topics, ar.Title)
	}
	t.flush()
	ew.printf("\nTopics (human clicks on the topic's articles, and by the topic's readers):\n")
	t = newTable(ew, "  TOPIC", "RECIPIENTS", "ON ARTICLES", "BY READERS", "NAME")
	for _, tp := range r.Topics {
		t.row("  "+tp.Slug, strconv.Itoa(tp.Recipients), strconv.Itoa(tp.ClicksHuman), strconv.Itoa(tp.ReaderClicksHuman), tp.Name)
	}
	t.flush()
	if len(r.Links) > 0 {
		ew.printf("\nLinks:\n")
		t = newTable(ew, "  ARTICLE", "RECIPIENTS", "HUMAN", "MACHINE", "URL")
		for _, l := range r.Links {
			t.row("  "+strconv.Itoa(l.Position)+"."+strconv.Itoa(l.Index), strconv.Itoa(l.Recipients), strconv.Itoa(l.ClicksHuman), strconv.Itoa(l.ClicksMachine), l.URL)
		}
		t.flush()
	}
	return ew.err
}

// countsLine is "17: human 7, machine 10 (59% machine)", or why there is none.
func countsLine(c report.Counts, mode string) string {
	if mode == "off" && c.Total == 0 {
		return "not tracked (off)"
	}
	return fmt.Sprintf("%d: human %d, machine %d (%s machine)", c.Total, c.Human, c.Machine, sharePct(c.Machine, c.Total))
}

// printTrend writes one line per issue, newest first.
func printTrend(w io.Writer, list string, rs []report.Report) error {
	ew := &reportWriter{w: w}
	if len(rs) == 0 {
		ew.printf("list %s: no issue sent yet\n", list)
		return ew.err
	}
	ew.printf("list %s: last %d sent issue(s), newest first\n\n", list, len(rs))
	t := newTable(ew, "ISSUE", "#", "SENT", "RECIPIENTS", "DELIVERED", "BOUNCED", "COMPLAINTS", "UNSUB", "OPENS", "CLICKS", "MACHINE", "CLICK RATE", "TITLE")
	for _, r := range rs {
		rate := "–"
		switch cr := r.ClickRate(); {
		case cr < 0:
			rate = "off"
		case r.Delivered > 0:
			rate = strconv.FormatFloat(100*cr, 'f', 1, 64) + "%"
		}
		t.row(strconv.FormatInt(r.Issue, 10), strconv.Itoa(r.Number), r.SentAt.UTC().Format("2006-01-02"),
			strconv.Itoa(r.Recipients), strconv.Itoa(r.Delivered), strconv.Itoa(r.Bounced), strconv.Itoa(r.Complaints),
			strconv.Itoa(r.Unsubscribed), strconv.Itoa(r.Opens.Human), strconv.Itoa(r.Clicks.Human),
			sharePct(r.Clicks.Machine, r.Clicks.Total), rate, r.Title)
	}
	t.flush()
	ew.printf("\nOPENS and CLICKS are people's; MACHINE is the machines' share of clicks; CLICK RATE is unique\nhuman clickers (individual mode) or human clicks per delivered message.\n")
	return ew.err
}

// reportWriter keeps the first write error so a long report checks it once.
type reportWriter struct {
	w   io.Writer
	err error
}

func (e *reportWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *reportWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }
