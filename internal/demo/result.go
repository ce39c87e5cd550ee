package demo

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tidings/tidings/internal/cjkwidth"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/smtpsink"
)

func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// printResult says who got which articles, read from the captured mail
// itself (an article counts when its title is in the text part), and who
// got nothing and why.
func printResult(w io.Writer, issue *tidings.Issue, msgs []smtpsink.Message, took time.Duration, base string) {
	got := map[string][]int{}
	for _, m := range msgs {
		if len(m.To) == 0 {
			continue
		}
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
		if err != nil {
			continue
		}
		text := squash(env.Text)
		var arts []int
		for _, art := range issue.Articles {
			if strings.Contains(text, squash(art.Title)) {
				arts = append(arts, art.Position)
			}
		}
		got[strings.ToLower(m.To[0])] = arts
	}
	fmt.Fprintf(w, "\nSent %d messages (%s after start). Who got which articles (numbers as listed above):\n\n", len(msgs), took.Round(100*time.Millisecond))
	rows := [][]string{{"  READER", "NAME", "TOPICS", "ARTICLES"}}
	var nothing []string
	for _, p := range people {
		arts, ok := got[p.email]
		switch {
		case p.status != "":
			nothing = append(nothing, fmt.Sprintf("%s (%s)", p.email, p.status))
			continue
		case !ok:
			why := "chose no topic"
			if p.topics != "none" {
				why = "no article of " + topicNames(strings.Split(p.topics, ";")) + " in this issue"
			}
			nothing = append(nothing, fmt.Sprintf("%s (%s)", p.email, why))
			continue
		}
		var nums []string
		for _, n := range arts {
			nums = append(nums, fmt.Sprint(n))
		}
		t := "all"
		if p.topics != "all" {
			t = topicNames(strings.Split(p.topics, ";"))
		}
		rows = append(rows, []string{"  " + p.email, p.name, t, strings.Join(nums, " ")})
	}
	table(w, rows)
	if len(nothing) > 0 {
		fmt.Fprintf(w, "\nNothing sent to:\n")
		for _, n := range nothing {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nThe console (sign in as %s with the password above):\n  %s/admin/\n", EditorEmail, base)
	fmt.Fprintf(w, "Read the captured mails in a browser:\n  %s/outbox\n", base)
	fmt.Fprintf(w, "Reader pages:\n  %s/keji/subscribe\n  %s/keji/archive\n  %s/keji/archive/%d\n  %s/keji/feed.xml\n", base, base, base, issue.Number, base)
	fmt.Fprintf(w, "Daemon: %s/healthz  %s/metrics\n", base, base)
}

// table prints rows in columns, counting a Chinese character as two.
func table(w io.Writer, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cjkwidth.Width(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-cjkwidth.Width(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
