package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tidings/tidings/internal/cjkwidth"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// store opens the database and returns the subscribers store on it.
func (a *App) store(ctx context.Context) (*subscribers.Store, error) {
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	return subscribers.NewStore(d), nil
}

// subcommandArgs is the Args of a command group: a word that is not one of
// its subcommands, or no subcommand at all, is a usage error naming them.
func subcommandArgs(names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s: want a subcommand: %s", cmdName(cmd), names)
		}
		return usagef("%s: unknown subcommand %q: want %s", cmdName(cmd), args[0], names)
	}
}

// registerCompletions teaches shell completion the slugs in the database:
// lists for --list and for the SLUG of list set/rm, topics for --topic,
// --topics and the SLUG of topic set/rm, on every command that has them.
func (a *App) registerCompletions(root *cobra.Command) {
	slugArgs := map[string]string{"tidings list set": "list", "tidings list rm": "list", "tidings topic set": "topic", "tidings topic rm": "topic"}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, flag := range []string{"list", "topic", "topics"} {
			if c.LocalFlags().Lookup(flag) == nil {
				continue
			}
			kind := strings.TrimSuffix(flag, "s")
			c.RegisterFlagCompletionFunc(flag, func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				return a.completeSlugs(cmd, kind, flag == "topics", toComplete), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if kind, ok := slugArgs[c.CommandPath()]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return a.completeSlugs(cmd, kind, false, toComplete), cobra.ShellCompDirectiveNoFileComp
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeSlugs lists the list or topic slugs starting with toComplete;
// with many, toComplete is a comma-separated choice being typed ("ai,ch").
// It reads an existing database only: pressing TAB must not create one,
// and any problem just means no suggestions.
func (a *App) completeSlugs(cmd *cobra.Command, kind string, many bool, toComplete string) []string {
	if a.resolveEnv(cmd.Flags()) != nil {
		return nil
	}
	if fi, err := os.Stat(a.cfg.DBPath); err != nil || fi.Size() == 0 {
		return nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := a.store(ctx)
	if err != nil {
		return nil
	}
	var slugs []string
	if kind == "list" {
		lists, err := s.Lists(ctx)
		if err != nil {
			return nil
		}
		for _, l := range lists {
			slugs = append(slugs, l.Slug)
		}
	} else {
		slug, _ := cmd.Flags().GetString("list")
		l, err := s.ResolveList(ctx, slug)
		if err != nil {
			return nil
		}
		topics, err := s.PublicTopics(ctx, l.ID)
		if err != nil {
			return nil
		}
		for _, t := range topics {
			slugs = append(slugs, t.Slug)
		}
	}
	prefix, word := "", toComplete
	if many {
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			prefix, word = toComplete[:i+1], toComplete[i+1:]
		} else {
			slugs = append(slugs, "all")
		}
	}
	chosen := map[string]bool{}
	for _, c := range strings.Split(prefix, ",") {
		chosen[c] = true
	}
	var out []string
	for _, sl := range slugs {
		if strings.HasPrefix(sl, word) && !chosen[sl] {
			out = append(out, prefix+sl)
		}
	}
	return out
}

// listFlag adds --list, which may be left out when there is one list.
func listFlag(c *cobra.Command, v *string) {
	c.Flags().StringVar(v, "list", "", "list slug (optional when the database holds one list)")
}

func newListCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "Manage lists (newsletters)",
		Args:  subcommandArgs("add, ls, set or rm"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newListAddCmd(a), newListLsCmd(a), newListSetCmd(a), newListRmCmd(a))
	return c
}

// listFlags are the settings of a list shared by add and set.
type listFlags struct {
	name, from, lang, tz, replyTo, address, templates string
}

func (f *listFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.name, "name", "", "display name, e.g. 科技情报")
	c.Flags().StringVar(&f.from, "from", "", `sender, "Name <addr@example.org>"`)
	c.Flags().StringVar(&f.lang, "lang", "", "language of reader-facing text: zh or en (default en)")
	c.Flags().StringVar(&f.tz, "tz", "", "IANA time zone, e.g. Asia/Shanghai (default UTC)")
	c.Flags().StringVar(&f.replyTo, "reply-to", "", "Reply-To address")
	c.Flags().StringVar(&f.address, "address", "", "postal address shown in every mail")
	c.Flags().StringVar(&f.templates, "templates", "", "directory whose files override the built-in templates by name (\"\" to drop)")
}

// apply copies the flags that were given onto l.
func (f *listFlags) apply(c *cobra.Command, l *tidings.List) int {
	n := 0
	set := func(flag string, dst *string, v string) {
		if c.Flags().Changed(flag) {
			*dst = v
			n++
		}
	}
	set("name", &l.Name, f.name)
	set("from", &l.From, f.from)
	lang := string(l.Lang)
	set("lang", &lang, f.lang)
	l.Lang = tidings.Lang(lang)
	set("tz", &l.TZ, f.tz)
	set("reply-to", &l.ReplyTo, f.replyTo)
	set("address", &l.Address, f.address)
	set("templates", &l.TemplateDir, f.templates)
	return n
}

// checkTemplates renders a sample issue with a list's template override,
// so a broken one is refused now rather than at send time. The secret and
// base only make links for the sample; nothing is stored or sent.
func (a *App) checkTemplates(l *tidings.List) error {
	if l.TemplateDir == "" {
		return nil
	}
	r := &render.Renderer{Links: tidings.Links{Base: "https://example.org"}, Signer: token.New(make([]byte, 32)), Now: a.Now}
	if err := r.CheckTemplates(l); err != nil {
		return fmt.Errorf("list %s: %w", l.Slug, err)
	}
	return nil
}

func newListAddCmd(a *App) *cobra.Command {
	var f listFlags
	c := &cobra.Command{
		Use:   "add SLUG --name NAME --from \"Name <addr@example.org>\"",
		Short: "Create a list",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.name == "" || f.from == "" {
				return usagef("list add: --name and --from are required")
			}
			o, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			l := &tidings.List{Slug: args[0]}
			f.apply(cmd, l)
			if err := a.checkTemplates(l); err != nil {
				return err
			}
			if err := o.CreateList(cmd.Context(), ops.CLI(), l); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "created list %s (%s, %s)\n", l.Slug, l.Lang, l.TZ)
			return nil
		},
	}
	f.bind(c)
	return c
}

type listJSON struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	From        string `json:"from"`
	Lang        string `json:"lang"`
	TZ          string `json:"tz"`
	ReplyTo     string `json:"reply_to"`
	Address     string `json:"address"`
	Subscribers int    `json:"subscribers"`
	// engagement tracking, keys as the API's list
	Clicks       string `json:"clicks"`
	Opens        string `json:"opens"`
	ActivityDays int    `json:"activity_days"`
}

func newListLsCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List the lists with their confirmed subscribers",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			lists, err := o.Lists(cmd.Context(), ops.CLI())
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]listJSON, 0, len(lists))
				for _, l := range lists {
					out = append(out, listJSON{l.Slug, l.Name, l.From, string(l.Lang), l.TZ, l.ReplyTo, l.Address, l.Subscribers,
						string(l.Clicks), string(l.Opens), l.ActivityDays})
				}
				return a.printJSON(out)
			}
			if len(lists) == 0 {
				fmt.Fprintln(a.Stderr, "no lists yet: create one with tidings list add")
				return nil
			}
			t := newTable(a.Stdout, "SLUG", "NAME", "FROM", "LANG", "TZ", "SUBSCRIBERS", "CLICKS", "OPENS")
			for _, l := range lists {
				t.row(l.Slug, l.Name, l.From, string(l.Lang), l.TZ, fmt.Sprint(l.Subscribers), string(l.Clicks), string(l.Opens))
			}
			return t.flush()
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func newListSetCmd(a *App) *cobra.Command {
	var f listFlags
	var dk listDKIMFlags
	var tf listTrackFlags
	c := &cobra.Command{
		Use:   "set SLUG [--name NAME] [--from FROM] [--lang zh|en] [--tz ZONE] [--reply-to ADDR] [--address TEXT]",
		Short: "Change a list's settings",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.apply(cmd, &tidings.List{}) == 0 && !dk.changed(cmd) && !tf.changed(cmd) {
				return usagef("list set: nothing to change: give --name, --from, --lang, --tz, --reply-to, --address, --templates, --dkim-key, --clicks, --opens or --activity-days")
			}
			if err := tf.check(cmd); err != nil {
				return err
			}
			if err := dk.load(cmd); err != nil {
				return err
			}
			o, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := o.UpdateList(cmd.Context(), ops.CLI(), args[0], func(l *tidings.List) error {
				f.apply(cmd, l)
				dk.apply(cmd, l)
				tf.apply(cmd, l)
				if cmd.Flags().Changed("templates") {
					return a.checkTemplates(l)
				}
				return nil
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "updated list %s\n", args[0])
			return nil
		},
	}
	f.bind(c)
	dk.bind(c)
	tf.bind(c)
	return c
}

func newListRmCmd(a *App) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rm SLUG [--force]",
		Short: "Delete a list with its topics, issues and subscriptions",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := a.ops(cmd.Context())
			if err != nil {
				return err
			}
			if err := o.DeleteList(cmd.Context(), ops.CLI(), args[0], force); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "deleted list %s\n", args[0])
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "delete even while the list has subscribers")
	return c
}

// table prints aligned columns for humans. Unlike text/tabwriter it counts
// East Asian wide characters as two columns, so Chinese names line up. It
// holds at most sampleRows rows to size the columns, then streams, so a
// listing of a million subscribers does not sit in memory.
type table struct {
	w      io.Writer
	widths []int
	buf    [][]string
	fixed  bool
	err    error
}

const sampleRows = 1000

func newTable(w io.Writer, header ...string) *table {
	t := &table{w: w, widths: make([]int, len(header))}
	t.row(header...)
	return t
}

func (t *table) row(cells ...string) {
	if t.fixed {
		t.write(cells)
		return
	}
	t.buf = append(t.buf, cells)
	for i, c := range cells {
		if i < len(t.widths) {
			t.widths[i] = max(t.widths[i], cjkwidth.Width(c))
		}
	}
	if len(t.buf) > sampleRows {
		t.flush()
	}
}

func (t *table) write(cells []string) {
	if t.err != nil {
		return
	}
	var b strings.Builder
	for i, c := range cells {
		b.WriteString(c)
		if i < len(cells)-1 {
			pad := 2
			if i < len(t.widths) {
				pad += t.widths[i] - cjkwidth.Width(c)
			}
			b.WriteString(strings.Repeat(" ", max(pad, 1)))
		}
	}
	_, t.err = io.WriteString(t.w, strings.TrimRight(b.String(), " ")+"\n")
}

// flush writes the buffered rows; later rows are written at once.
func (t *table) flush() error {
	for _, r := range t.buf {
		t.write(r)
	}
	t.buf = nil
	t.fixed = true
	return t.err
}
