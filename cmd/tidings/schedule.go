package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/schedule"
)

func newScheduleCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "schedule",
		Short: "Schedule sends: one-off (an issue at a time) or recurring (cron)",
		Long: `A one-off schedule sends one issue at a given time. A recurring schedule is a
cron expression in a zone: at each tick, every issue of its list that is
ready (tidings issue ready ID) and not yet sent goes out, oldest first.
The daemon (tidings serve) picks up changes within seconds.`,
		Args: subcommandArgs("add, ls or rm"),
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newScheduleAddCmd(a), newScheduleLsCmd(a), newScheduleRmCmd(a))
	return c
}

// scheduleJSON is one schedule as `schedule ls --json` prints it
// (CONTRACT.md keys: id, issue, cron, at, tz, next).
type scheduleJSON struct {
	ID          int64   `json:"id"`
	List        string  `json:"list"`
	Issue       *int64  `json:"issue"`
	IssueNumber *int    `json:"issue_number,omitempty"`
	Cron        *string `json:"cron"`
	At          *string `json:"at"`
	TZ          string  `json:"tz"`
	Next        *string `json:"next"`
	LastRun     *string `json:"last_run,omitempty"`
}

func toScheduleJSON(s schedule.Schedule) scheduleJSON {
	j := scheduleJSON{ID: s.ID, List: s.ListSlug, TZ: s.TZ}
	ts := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		v := t.Format(time.RFC3339)
		return &v
	}
	if s.Recurring() {
		c := s.Cron
		j.Cron = &c
	} else {
		id, n := s.IssueID, s.IssueNumber
		j.Issue, j.IssueNumber = &id, &n
		j.At = ts(s.At)
	}
	j.Next = ts(s.Next)
	j.LastRun = ts(s.LastRun)
	return j
}

const humanTime = "2006-01-02 15:04:05 MST"

// scheduleError turns malformed values into usage errors (exit 2); the
// rest (time in the past, issue already sent, not found) exit 1.
func scheduleError(err error) error {
	if errors.Is(err, schedule.ErrInvalid) {
		return usageError{err}
	}
	return err
}

func newScheduleAddCmd(a *App) *cobra.Command {
	var at, tz, spec, list string
	var asJSON bool
	c := &cobra.Command{
		Use:   "add [ID] (--at TIME | --cron \"MIN HOUR DOM MON DOW\")",
		Short: "Add a one-off schedule for issue ID, or a recurring one for a list",
		Example: `  tidings schedule add 3 --at "2027-07-15 08:00" --tz Asia/Shanghai
  tidings schedule add 3 --at +2h
  tidings schedule add --cron "0 8 * * 1" --tz Asia/Shanghai --list keji`,
		Args: rangeArgs(0, 1, "ID (with --at) or nothing (with --cron)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			hasAt, hasCron := cmd.Flags().Changed("at"), cmd.Flags().Changed("cron")
			switch {
			case hasAt == hasCron:
				return usagef("schedule add: give either --at TIME (with an issue ID) or --cron EXPRESSION")
			case hasAt && len(args) != 1:
				return usagef("schedule add --at: want the issue ID to send (see tidings issue ls)")
			case hasCron && len(args) != 0:
				return usagef("schedule add --cron: takes no issue ID; every ready issue of the list is sent at each tick")
			case hasAt && cmd.Flags().Changed("list"):
				return usagef("schedule add --at: --list is not used; the issue belongs to its list")
			}
			if cmd.Flags().Changed("tz") {
				if _, err := schedule.LoadZone(tz); err != nil {
					return scheduleError(fmt.Errorf("--tz: %w", err))
				}
			}
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			var sc *schedule.Schedule
			if hasAt {
				id, err := parseIssueID(args[0])
				if err != nil {
					return err
				}
				if sc, err = svc.Schedule(ctx, ops.CLI(), id, at, tz); err != nil {
					if errors.Is(err, schedule.ErrInvalid) {
						return scheduleError(fmt.Errorf("--at: %w", err))
					}
					return scheduleError(err)
				}
			} else if sc, err = svc.AddRecurring(ctx, ops.CLI(), list, spec, tz); err != nil {
				return scheduleError(err)
			}
			if asJSON {
				return a.printJSON(toScheduleJSON(*sc))
			}
			if sc.Recurring() {
				fmt.Fprintf(a.Stdout, "schedule %d: list %s, cron %q in %s; next run %s\n",
					sc.ID, sc.ListSlug, sc.Cron, sc.TZ, sc.Next.Format(humanTime))
			} else {
				fmt.Fprintf(a.Stdout, "schedule %d: issue %d (#%d of %s) at %s (%s, in %s)\n",
					sc.ID, sc.IssueID, sc.IssueNumber, sc.ListSlug, sc.At.Format(humanTime), sc.TZ,
					sc.At.Sub(a.Now()).Round(time.Second))
			}
			return nil
		},
	}
	c.Flags().StringVar(&at, "at", "", `one-off time: "2006-01-02 15:04[:05]" in --tz, RFC 3339, or +DURATION (+90s, +2h)`)
	c.Flags().StringVar(&spec, "cron", "", `recurring: "MIN HOUR DOM MON DOW", e.g. "0 8 * * 1" (Mondays 08:00)`)
	c.Flags().StringVar(&tz, "tz", "", "IANA time zone (default: the list's zone)")
	listFlag(c, &list)
	jsonFlag(c, &asJSON)
	return c
}

func newScheduleLsCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List pending and recurring schedules with their next run",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			all, err := svc.Schedules(cmd.Context(), ops.CLI(), "")
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]scheduleJSON, 0, len(all))
				for _, s := range all {
					out = append(out, toScheduleJSON(s))
				}
				return a.printJSON(out)
			}
			if len(all) == 0 {
				fmt.Fprintln(a.Stderr, "no schedules: add one with tidings schedule add")
				return nil
			}
			t := newTable(a.Stdout, "ID", "LIST", "ISSUE", "WHEN", "TZ", "NEXT")
			for _, s := range all {
				issue, when := "-", "cron "+s.Cron
				if !s.Recurring() {
					issue = fmt.Sprintf("%d (#%d)", s.IssueID, s.IssueNumber)
					when = "at " + s.At.Format(humanTime)
				}
				next := "never"
				if !s.Next.IsZero() {
					next = s.Next.Format(humanTime)
				}
				t.row(strconv.FormatInt(s.ID, 10), s.ListSlug, issue, when, s.TZ, next)
			}
			return t.flush()
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func newScheduleRmCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm SCHEDULE_ID",
		Short: "Remove a schedule; a one-off's issue goes back to draft or ready",
		Args:  exactArgs(1, "SCHEDULE_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usagef("schedule id %q: want a positive number (see tidings schedule ls)", args[0])
			}
			svc, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			if err := svc.RemoveSchedule(cmd.Context(), ops.CLI(), id); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "schedule %d removed\n", id)
			return nil
		},
	}
}
