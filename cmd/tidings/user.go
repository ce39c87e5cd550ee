package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// accountErr turns the operations layer's bad-input errors into usage
// errors (exit 2), as CONTRACT.md wants for bad input on the command line;
// everything else stays a failure (exit 1).
func accountErr(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ops.ErrInvalid) {
		return usagef("%s: %v", cmdName(cmd), err)
	}
	return fmt.Errorf("%s: %w", cmdName(cmd), err)
}

// roleAndListsFlags are --role and --lists of user add and token add.
type roleAndListsFlags struct {
	role  string
	lists string
}

func (f *roleAndListsFlags) bind(c *cobra.Command, what string) {
	c.Flags().StringVar(&f.role, "role", "", "admin or editor (required)")
	c.Flags().StringVar(&f.lists, "lists", "", "comma-separated list slugs the "+what+" is limited to (default: every list, present and future)")
}

// parse checks the role and splits the lists; "all" or nothing = every list.
func (f *roleAndListsFlags) parse(cmd *cobra.Command) (tidings.Role, []string, error) {
	if strings.TrimSpace(f.role) == "" {
		return "", nil, usagef("%s: --role is required: admin or editor", cmdName(cmd))
	}
	role, err := tidings.ParseRole(f.role)
	if err != nil {
		return "", nil, usagef("%s: --role %q: want admin or editor", cmdName(cmd), f.role)
	}
	var lists []string
	for _, l := range strings.Split(f.lists, ",") {
		if l = strings.TrimSpace(l); l != "" {
			lists = append(lists, l)
		}
	}
	if len(lists) == 1 && lists[0] == "all" {
		lists = nil
	}
	return role, lists, nil
}

// listsJSON is how --json prints lists: ["all"] for every list, as the
// API does.
func listsJSON(all bool, slugs []string) []string {
	if all {
		return []string{"all"}
	}
	if slugs == nil {
		return []string{}
	}
	return slugs
}

func listsText(all bool, slugs []string) string {
	if all {
		return "all"
	}
	if len(slugs) == 0 {
		return "(none)"
	}
	return strings.Join(slugs, ",")
}

// timeJSON is an RFC 3339 UTC time, or null for never.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func newUserCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Manage console accounts (admins and editors)",
		Args:  subcommandArgs("add, ls, set, link, rm"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newUserAddCmd(a), newUserLsCmd(a), newUserSetCmd(a), newUserLinkCmd(a), newUserRmCmd(a))
	return c
}

func newUserAddCmd(a *App) *cobra.Command {
	var f roleAndListsFlags
	var pwStdin bool
	c := &cobra.Command{
		Use:   "add EMAIL --role admin|editor [--lists a,b] [--password-stdin]",
		Short: "Add a console account; prints a one-time sign-in link (24 h) unless --password-stdin",
		Long: `user add adds a console account. An editor works on the issues, schedules,
sends and reports of its lists; an admin may also manage users, tokens,
list settings, subscriber export and erasure. --lists limits either role.

Without --password-stdin it prints a one-time sign-in link, valid 24 hours,
where the person sets a password (opening it does not use it up; setting
the password does). The link is built on --admin-url.`,
		Args: exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			role, lists, err := f.parse(cmd)
			if err != nil {
				return err
			}
			var pw string
			if pwStdin {
				if pw, err = readPassword(a.Stdin); err != nil {
					return usagef("%s: --password-stdin: %v", cmdName(cmd), err)
				}
			}
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			u, link, err := s.AddUser(cmd.Context(), ops.CLI(), ops.NewUser{Email: args[0], Role: role, Lists: lists, Password: pw})
			if err != nil {
				return accountErr(cmd, err)
			}
			fmt.Fprintf(a.Stdout, "added %s: %s of %s\n", u.Email, u.Role, listsText(u.AllLists, u.Lists))
			if link != "" {
				fmt.Fprintf(a.Stdout, "one-time sign-in link (valid 24 h; send it to %s, who sets a password there):\n%s\n", u.Email, link)
			}
			return nil
		},
	}
	f.bind(c, "account")
	c.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	return c
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("standard input is empty: want the password on its first line")
	}
	return line, nil
}

type userJSON struct {
	Email     string   `json:"email"`
	Role      string   `json:"role"`
	Lists     []string `json:"lists"`
	LastLogin *string  `json:"last_login"`
}

func newUserLsCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the console accounts",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			users, err := s.Users(cmd.Context(), ops.CLI())
			if err != nil {
				return accountErr(cmd, err)
			}
			if asJSON {
				out := make([]userJSON, 0, len(users))
				for _, u := range users {
					out = append(out, userJSON{u.Email, string(u.Role), listsJSON(u.AllLists, u.Lists), timeJSON(u.LastLogin)})
				}
				return a.printJSON(out)
			}
			if len(users) == 0 {
				fmt.Fprintln(a.Stderr, "no users yet: add one with tidings user add EMAIL --role admin|editor")
				return nil
			}
			t := newTable(a.Stdout, "EMAIL", "ROLE", "LISTS", "LAST LOGIN")
			for _, u := range users {
				t.row(u.Email, string(u.Role), listsText(u.AllLists, u.Lists), timeText(u.LastLogin))
			}
			return t.flush()
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func newUserRmCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm EMAIL",
		Short: "Remove a console account and end its sessions",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			if err := s.RemoveUser(cmd.Context(), ops.CLI(), args[0]); err != nil {
				return accountErr(cmd, err)
			}
			fmt.Fprintf(a.Stdout, "removed %s\n", strings.ToLower(strings.TrimSpace(args[0])))
			return nil
		},
	}
}

func newUserSetCmd(a *App) *cobra.Command {
	var f roleAndListsFlags
	c := &cobra.Command{
		Use:   "set EMAIL [--role admin|editor] [--lists a,b|all]",
		Short: "Change an account's role or lists (effective at its next request)",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			roleSet, listsSet := cmd.Flags().Changed("role"), cmd.Flags().Changed("lists")
			if !roleSet && !listsSet {
				return usagef("%s: nothing to change: give --role, --lists or both", cmdName(cmd))
			}
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			users, err := s.Users(cmd.Context(), ops.CLI())
			if err != nil {
				return accountErr(cmd, err)
			}
			want := strings.ToLower(strings.TrimSpace(args[0]))
			i := slices.IndexFunc(users, func(u ops.User) bool { return u.Email == want })
			if i < 0 {
				return fmt.Errorf("%s: no user %s: %w", cmdName(cmd), want, ops.ErrNotFound)
			}
			cur := users[i]
			if !roleSet {
				f.role = string(cur.Role)
			}
			if !listsSet {
				f.lists = "all"
				if !cur.AllLists {
					f.lists = strings.Join(cur.Lists, ",")
				}
			}
			role, lists, err := f.parse(cmd)
			if err != nil {
				return err
			}
			if !listsSet && !cur.AllLists && len(lists) == 0 {
				return usagef("%s: %s is limited to no list; give --lists", cmdName(cmd), want)
			}
			u, err := s.SetUserAccess(cmd.Context(), ops.CLI(), want, role, lists)
			if err != nil {
				return accountErr(cmd, err)
			}
			fmt.Fprintf(a.Stdout, "%s: %s of %s\n", u.Email, u.Role, listsText(u.AllLists, u.Lists))
			return nil
		},
	}
	f.bind(c, "account")
	return c
}

func newUserLinkCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "link EMAIL",
		Short: "Print a new one-time sign-in link (24 h) for an account, e.g. after a lost password",
		Long: `user link makes a new one-time sign-in link, valid 24 hours, where the
person sets a new password. Earlier links stop working; the current
password keeps working until the link is used.`,
		Args: exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			link, err := s.NewSignInLink(cmd.Context(), ops.CLI(), args[0])
			if err != nil {
				return accountErr(cmd, err)
			}
			fmt.Fprintln(a.Stdout, link)
			return nil
		},
	}
}
