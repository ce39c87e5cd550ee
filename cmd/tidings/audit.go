package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/ops"
)

func newAuditCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log of changes made by people, tokens and the command line",
		Args:  subcommandArgs("ls"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newAuditLsCmd(a))
	return c
}

// auditJSON is one entry, keys as the API's GET /api/v1/audit.
type auditJSON struct {
	ID         int64           `json:"id"`
	At         *string         `json:"at"`
	ActorKind  string          `json:"actor_kind"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectKind string          `json:"object_kind"`
	ObjectID   string          `json:"object_id"`
	List       *string         `json:"list"`
	Detail     json.RawMessage `json:"detail"`
	IP         string          `json:"ip"`
}

func newAuditLsCmd(a *App) *cobra.Command {
	var asJSON bool
	var list, cursor string
	var limit int
	c := &cobra.Command{
		Use:   "ls [--list L] [--limit N] [--cursor C] [--json]",
		Short: "Show the newest changes first",
		Long: `audit ls shows recorded changes, newest first, --limit at a time; when
there are more, it says on stderr which --cursor shows the next page.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > ops.MaxAuditLimit {
				return usagef("%s: --limit %d: want 1 to %d", cmdName(cmd), limit, ops.MaxAuditLimit)
			}
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			entries, next, err := s.Audit(cmd.Context(), ops.CLI(), list, cursor, limit)
			if err != nil {
				return accountErr(cmd, err)
			}
			if next != "" {
				defer fmt.Fprintf(a.Stderr, "more: tidings audit ls --cursor %s\n", next)
			}
			if asJSON {
				out := make([]auditJSON, 0, len(entries))
				for _, e := range entries {
					d := json.RawMessage("null")
					if e.Detail != "" && json.Valid([]byte(e.Detail)) {
						d = json.RawMessage(e.Detail)
					}
					var l *string
					if e.ListSlug != "" {
						l = &e.ListSlug
					}
					out = append(out, auditJSON{e.ID, timeJSON(e.At), e.ActorKind, e.Actor, e.Action, e.ObjectKind, e.ObjectID, l, d, e.IP})
				}
				return a.printJSON(out)
			}
			if len(entries) == 0 {
				fmt.Fprintln(a.Stderr, "no changes recorded yet")
				return nil
			}
			t := newTable(a.Stdout, "AT", "WHO", "ACTION", "OBJECT", "LIST", "FROM")
			for _, e := range entries {
				t.row(timeText(e.At), e.ActorKind+":"+e.Actor, e.Action, e.ObjectKind+" "+e.ObjectID, e.ListSlug, e.IP)
			}
			return t.flush()
		},
	}
	c.Flags().StringVar(&list, "list", "", "only the changes on this list (slug)")
	c.Flags().IntVar(&limit, "limit", ops.DefaultAuditLimit, "at most this many entries")
	c.Flags().StringVar(&cursor, "cursor", "", "continue after this cursor (printed by the previous page)")
	jsonFlag(c, &asJSON)
	return c
}
