package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/ops"
)

func newTokenCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens",
		Args:  subcommandArgs("add, ls, rm"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newTokenAddCmd(a), newTokenLsCmd(a), newTokenRmCmd(a))
	return c
}

func newTokenAddCmd(a *App) *cobra.Command {
	var f roleAndListsFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "add NAME --role admin|editor [--lists a,b] [--json]",
		Short: "Make an API token and print it once (only a hash is stored)",
		Long: `token add makes an API token for scripts: send it as
"Authorization: Bearer TOKEN" to /api/v1/. It is printed this once; the
database keeps only its SHA-256, so a lost token is replaced, not
recovered (token rm NAME, then token add again).`,
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			role, lists, err := f.parse(cmd)
			if err != nil {
				return err
			}
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			t, secret, err := s.AddToken(cmd.Context(), ops.CLI(), args[0], role, lists)
			if err != nil {
				return accountErr(cmd, err)
			}
			if asJSON {
				return a.printJSON(struct {
					Name  string   `json:"name"`
					Token string   `json:"token"`
					Role  string   `json:"role"`
					Lists []string `json:"lists"`
				}{t.Name, secret, string(t.Role), listsJSON(t.AllLists, t.Lists)})
			}
			fmt.Fprintf(a.Stderr, "token %s: %s of %s; shown this once, store it now:\n", t.Name, t.Role, listsText(t.AllLists, t.Lists))
			fmt.Fprintln(a.Stdout, secret)
			return nil
		},
	}
	f.bind(c, "token")
	jsonFlag(c, &asJSON)
	return c
}

type tokenJSON struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Lists    []string `json:"lists"`
	LastUsed *string  `json:"last_used"`
}

func newTokenLsCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the API tokens (names, never the tokens)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			tokens, err := s.Tokens(cmd.Context(), ops.CLI())
			if err != nil {
				return accountErr(cmd, err)
			}
			if asJSON {
				out := make([]tokenJSON, 0, len(tokens))
				for _, t := range tokens {
					out = append(out, tokenJSON{t.Name, string(t.Role), listsJSON(t.AllLists, t.Lists), timeJSON(t.LastUsed)})
				}
				return a.printJSON(out)
			}
			if len(tokens) == 0 {
				fmt.Fprintln(a.Stderr, "no API tokens yet: make one with tidings token add NAME --role admin|editor")
				return nil
			}
			t := newTable(a.Stdout, "NAME", "ROLE", "LISTS", "LAST USED")
			for _, tk := range tokens {
				t.row(tk.Name, string(tk.Role), listsText(tk.AllLists, tk.Lists), timeText(tk.LastUsed))
			}
			return t.flush()
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func newTokenRmCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Revoke an API token",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.RemoveToken(cmd.Context(), ops.CLI(), args[0]); err != nil {
				return accountErr(cmd, err)
			}
			fmt.Fprintf(a.Stdout, "revoked token %s\n", args[0])
			return nil
		},
	}
}
