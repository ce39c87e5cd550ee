package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
)

// statusJSON is the JSON of `status --json` (and `send --json`): the
// CONTRACT keys issue, total, sent, failed, skipped, pending, then more.
// Bounces are what came back after delivery (DSNs, complaints, and the
// hard bounces the relay gave during the send), counted by inbound per
// subscriber.
type statusJSON struct {
	Issue int64 `json:"issue"`
	mailer.Counts
	State    string              `json:"state"` // "", preparing, running, paused, done
	Reason   string              `json:"reason,omitempty"`
	Failures []mailer.Failure    `json:"failures"`
	Bounces  inbound.IssueCounts `json:"bounces"`
	// Settings are the relays, DKIM key and rate the send was started
	// with (no passwords, no key); null before it starts.
	Settings *mailer.Settings `json:"settings"`
}

func newStatusCmd(a *App) *cobra.Command {
	var asJSON, all bool
	c := &cobra.Command{
		Use:   "status ID",
		Short: "Show how the send of an issue stands: totals by state and the failures",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			svc, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			limit := 20
			if all || asJSON {
				limit = -1
			}
			ss, err := svc.Status(cmd.Context(), ops.CLI(), id, limit)
			if err != nil {
				return err
			}
			st, bc := ss.Status, ss.BounceCounts
			if asJSON {
				out := statusJSON{Issue: id, Counts: st.Counts, State: st.State, Reason: st.Reason, Failures: st.Failures, Bounces: bc}
				if st.State != "" {
					out.Settings = &st.Settings
				}
				if out.Failures == nil {
					out.Failures = []mailer.Failure{}
				}
				return a.printJSON(out)
			}
			state := st.State
			switch state {
			case "":
				state = "not sent yet"
			case "paused":
				state = "paused: " + st.Reason
			}
			fmt.Fprintf(a.Stdout, "issue %d: %s\n", id, state)
			fmt.Fprintf(a.Stdout, "total %d  sent %d  failed %d  bounced %d  complained %d  skipped %d  pending %d\n",
				st.Total, st.Sent, st.Failed, st.Bounced, st.Complained, st.Skipped, st.Pending)
			fmt.Fprintf(a.Stdout, "bounces: %d hard, %d soft; complaints: %d\n", bc.Hard, bc.Soft, bc.Complaints)
			if set := st.Settings; st.State != "" {
				fmt.Fprintf(a.Stdout, "settings: relays %s; DKIM %s; rate %s\n", strings.Join(set.Relays, ", "), set.DKIM, rateText(set.Rate))
			}
			if len(st.Failures) > 0 {
				fmt.Fprintf(a.Stdout, "\n%-36s %-8s %-10s %8s  %s\n", "EMAIL", "STATE", "KIND", "ATTEMPTS", "REPLY")
				for _, f := range st.Failures {
					reply := f.Reply
					if reply == "" {
						reply = f.Error
					}
					fmt.Fprintf(a.Stdout, "%-36s %-8s %-10s %8d  %s\n", f.Email, f.State, f.Kind, f.Attempts, reply)
				}
				if n := st.Failed + st.Bounced + st.Complained; !all && n > len(st.Failures) {
					fmt.Fprintf(a.Stdout, "(%d more; --all shows every one)\n", n-len(st.Failures))
				}
			}
			if st.State == "paused" || (st.State != "" && st.State != "done") {
				fmt.Fprintf(a.Stdout, "run 'tidings send %d' to resume\n", id)
			}
			return nil
		},
	}
	jsonFlag(c, &asJSON)
	c.Flags().BoolVar(&all, "all", false, "list every failure, not only the latest 20")
	return c
}

func rateText(r float64) string {
	if r <= 0 {
		return "no limit"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + " msg/s"
}
