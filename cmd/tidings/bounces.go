package main

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/db"
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
			d, err := a.DB(ctx)
			if err != nil {
				return err
			}
			q := `SELECT p.email, b.kind, b.code, b.issue_id, b.at, l.slug, b.diagnostic, b.source
				FROM bounces b JOIN subscribers p ON p.id = b.subscriber_id JOIN lists l ON l.id = b.list_id
				WHERE 1 = 1`
			var args []any
			if slug != "" {
				s, err := a.store(ctx)
				if err != nil {
					return err
				}
				l, err := s.List(ctx, slug)
				if err != nil {
					return err
				}
				q += " AND b.list_id = ?"
				args = append(args, l.ID)
			}
			if kind != "" {
				q += " AND b.kind = ?"
				args = append(args, kind)
			}
			q += " ORDER BY b.at DESC, b.id DESC LIMIT ?"
			args = append(args, limit)
			rows, err := d.R.QueryContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("bounces: %w", err)
			}
			defer rows.Close()
			out := []bounceJSON{}
			for rows.Next() {
				var b bounceJSON
				var issue sql.NullInt64
				var at int64
				if err := rows.Scan(&b.Email, &b.Kind, &b.Code, &issue, &at, &b.List, &b.Diagnostic, &b.Source); err != nil {
					return fmt.Errorf("bounces: %w", err)
				}
				if issue.Valid {
					b.Issue = &issue.Int64
				}
				b.At = db.Time(at).Format(time.RFC3339)
				out = append(out, b)
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("bounces: %w", err)
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
