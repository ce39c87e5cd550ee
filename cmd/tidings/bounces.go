package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/ops"
)

func newBouncesCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "bounces",
		Short: "Bounces and complaints that came back from readers' mail servers",
		Args:  subcommandArgs("ls"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newBouncesLsCmd(a))
	return c
}

// bounceJSON is one row of `bounces ls --json`; issue is null when the
// bounce could not be tied to an issue (e.g. found in a plain mailbox).
type bounceJSON struct {
	Email      string `json:"email"`
	Kind       string `json:"kind"`
	Code       string `json:"code"`
	Issue      *int64 `json:"issue"`
	At         string `json:"at"`
	List       string `json:"list"`
	Diagnostic string `json:"diagnostic"`
	Source     string `json:"source"`
}

func newBouncesLsCmd(a *App) *cobra.Command {
	var (
		asJSON bool
		slug   string
		kind   string
		limit  int
	)
	c := &cobra.Command{
		Use:   "ls [--list L] [--kind hard|soft|complaint] [--limit N] [--json]",
		Short: "List recent bounces and complaints, newest first",
		Long: `ls lists the bounces (hard: the address does not exist; soft: a full
mailbox or another passing failure) and complaints (the reader pressed
"this is spam") recorded for the lists' readers, newest first. Without
--list it shows every list's.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch kind {
			case "", "hard", "soft", "complaint":
			default:
				return usagef("bounces ls: --kind %q: want hard, soft or complaint", kind)
			}
			if limit < 1 {
				return usagef("bounces ls: --limit %d: want a number ≥ 1", limit)
			}
			ctx := cmd.Context()
			o, err := a.ops(ctx)
			if err != nil {
				return err
			}
			out := []bounceJSON{}
			cursor := ""
			for len(out) < limit {
				bs, next, err := o.Bounces(ctx, ops.CLI(), slug, kind, cursor, min(limit-len(out), 500))
				if err != nil {
					return err
				}
				for _, b := range bs {
					j := bounceJSON{Email: b.Email, Kind: b.Kind, Code: b.Code, At: b.At.Format(time.RFC3339),
						List: b.ListSlug, Diagnostic: b.Diagnostic, Source: b.Source}
					if b.IssueID != 0 {
						j.Issue = &b.IssueID
					}
					out = append(out, j)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if asJSON {
				return a.printJSON(out)
			}
			if len(out) == 0 {
				fmt.Fprintln(a.Stderr, "no bounces or complaints")
				return nil
			}
			t := newTable(a.Stdout, "EMAIL", "KIND", "CODE", "ISSUE", "AT", "LIST", "DIAGNOSTIC")
			for _, b := range out {
				issue := "-"
				if b.Issue != nil {
					issue = fmt.Sprint(*b.Issue)
				}
				code := b.Code
				if code == "" {
					code = "-"
				}
				diag := b.Diagnostic
				if r := []rune(diag); len(r) > 60 {
					diag = string(r[:59]) + "…"
				}
				t.row(b.Email, b.Kind, code, issue, b.At, b.List, strings.TrimSpace(diag))
			}
			return t.flush()
		},
	}
	listFlag(c, &slug)
	c.Flags().StringVar(&kind, "kind", "", "only this kind: hard, soft or complaint")
	c.Flags().IntVar(&limit, "limit", 100, "at most this many rows")
	jsonFlag(c, &asJSON)
	return c
}
