package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/track"
)

func newSubCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "sub",
		Short: "Manage subscribers",
		Args:  subcommandArgs("add, import, export, ls, show, topics, status, unsubscribe or delete"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newSubAddCmd(a), newSubImportCmd(a), newSubExportCmd(a), newSubLsCmd(a),
		newSubShowCmd(a), newSubTopicsCmd(a), newSubUnsubscribeCmd(a), newSubDeleteCmd(a), newSubStatusCmd(a))
	return c
}

// topicsArg parses a --topics value or argument; bad syntax is a usage error.
func topicsArg(s string) (subscribers.TopicChoice, error) {
	c, err := subscribers.ParseTopicChoice(s)
	if err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

// opsAndList opens the operations layer and resolves --list for the
// command line's actor.
func (a *App) opsAndList(ctx context.Context, slug string) (*ops.Service, *tidings.List, error) {
	o, err := a.ops(ctx)
	if err != nil {
		return nil, nil, err
	}
	l, err := o.List(ctx, ops.CLI(), slug)
	if err != nil {
		return nil, nil, err
	}
	return o, l, nil
}

func newSubAddCmd(a *App) *cobra.Command {
	var list, name, topics string
	c := &cobra.Command{
		Use:   "add EMAIL [--name NAME] [--topics a,b|all] [--list L]",
		Short: "Add a subscriber, confirmed at once (an admin vouches for them)",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			choice, err := topicsArg(topics)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			p, err := o.AddSubscriber(ctx, ops.CLI(), l.Slug, args[0], name, choice)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "added %s to list %s (topics: %s)\n", p.Email, l.Slug, choice)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "the subscriber's name")
	c.Flags().StringVar(&topics, "topics", "all", "comma-separated topic slugs, or all")
	listFlag(c, &list)
	return c
}

func newSubImportCmd(a *App) *cobra.Command {
	var list, topics string
	var dry bool
	c := &cobra.Command{
		Use:   "import FILE.csv [--list L] [--topics a,b|all] [--dry-run]",
		Short: "Import subscribers from CSV: email[,name[,topics[,status]]]",
		Long: `Import subscribers from a CSV file ("-" reads stdin).

Columns: email[,name[,topics[,status]]], with or without a header row
(email,name,topics,status — or 邮箱,姓名,主题,状态 — in any order).
Topics are slugs separated by ';', or all, or none; an empty cell means
--topics for people new to the list. Status defaults to confirmed for new
people; an empty cell leaves an existing subscriber's status alone.
UTF-8 (with or without BOM) and GB18030/GBK files are both read. The JSON
written by "sub export --format json" is read back as well.
Bad rows are reported as "LINE: reason" and skipped; the exit status is 1
when there were any. Importing the same file again changes nothing.`,
		Args: exactArgs(1, "FILE.csv"),
		RunE: func(cmd *cobra.Command, args []string) error {
			choice, err := topicsArg(topics)
			if err != nil {
				return err
			}
			var in io.Reader = a.Stdin
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return fmt.Errorf("import: %w", err)
				}
				defer f.Close()
				in, name = f, args[0]
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			ew := bufio.NewWriter(a.Stderr)
			defer ew.Flush()
			st, err := o.Import(ctx, ops.CLI(), l.Slug, in, ops.ImportRequest{DefaultTopics: choice, DryRun: dry},
				func(line int, err error) { fmt.Fprintf(ew, "%d: %v\n", line, err) })
			if err != nil && !errors.Is(err, subscribers.ErrBadRows) {
				return fmt.Errorf("import %s: %w", name, err)
			}
			if st.Encoding == "GB18030" {
				fmt.Fprintf(ew, "%s: not UTF-8, read as GB18030 (GBK)\n", name)
			}
			verb := "imported"
			if dry {
				verb = "dry run: would import"
			}
			good := st.Added + st.Updated + st.Unchanged
			fmt.Fprintf(ew, "%s %d rows into list %s (%d added, %d updated, %d unchanged), %d bad rows\n",
				verb, good, l.Slug, st.Added, st.Updated, st.Unchanged, st.Bad)
			if err := ew.Flush(); err != nil {
				return err
			}
			if st.Bad > 0 {
				return reportedError{fmt.Sprintf("import %s: %d bad rows skipped", name, st.Bad)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&topics, "topics", "all", "topics for rows without a topics column: slugs, all or none")
	c.Flags().BoolVar(&dry, "dry-run", false, "check and count, write nothing")
	listFlag(c, &list)
	return c
}

func newSubExportCmd(a *App) *cobra.Command {
	var list, format string
	c := &cobra.Command{
		Use:   "export [--list L] [--format csv|json]",
		Short: "Write a list's subscribers to stdout (sub import reads it back)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return usagef("sub export: --format %q: want csv or json", format)
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(a.Stdout, 64<<10)
			if err := o.Export(ctx, ops.CLI(), l.Slug, format, w); err != nil {
				return err
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "csv or json")
	listFlag(c, &list)
	return c
}

func newSubLsCmd(a *App) *cobra.Command {
	var list, topic, status string
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls [--list L] [--topic T] [--status S] [--json]",
		Short: "List subscribers of a list",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st tidings.Status
			if status != "" {
				var err error
				if st, err = tidings.ParseStatus(status); err != nil {
					return usagef("%v", err)
				}
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			q := ops.SubscriberQuery{Topic: topic, Status: st}
			if asJSON {
				if err := writeSubscribersJSON(ctx, o, l.Slug, q, a.Stdout); err != nil {
					return fmt.Errorf("list %s: %w", l.Slug, err)
				}
				return nil
			}
			t := newTable(a.Stdout, "EMAIL", "NAME", "STATUS", "TOPICS")
			n := 0
			err = eachSubscriber(ctx, o, l.Slug, q, func(r ops.SubscriberRow) error {
				n++
				t.row(r.Email, r.Name, string(r.Status), rowChoice(r).String())
				return nil
			})
			if err != nil {
				return fmt.Errorf("list %s: %w", l.Slug, err)
			}
			if n == 0 {
				fmt.Fprintf(a.Stderr, "no subscribers on list %s match\n", l.Slug)
				return nil
			}
			return t.flush()
		},
	}
	c.Flags().StringVar(&topic, "topic", "", "only subscribers who receive this topic")
	c.Flags().StringVar(&status, "status", "", "only this status: pending, confirmed, unsubscribed, bounced, blocked")
	listFlag(c, &list)
	jsonFlag(c, &asJSON)
	return c
}

type subShowJSON struct {
	Email   string            `json:"email"`
	Name    string            `json:"name"`
	Created time.Time         `json:"created"`
	Lists   []subShowListJSON `json:"lists"`
	// Activity is the person's human clicks and opens on lists that track
	// them individually (package track); empty otherwise.
	Activity []track.Activity `json:"activity"`
}

type subShowListJSON struct {
	List    string    `json:"list"`
	Status  string    `json:"status"`
	Topics  []string  `json:"topics"`
	Since   time.Time `json:"since"`
	Updated time.Time `json:"updated"`
}

func newSubShowCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show EMAIL [--json]",
		Short: "Show one subscriber and their lists",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, err := a.ops(ctx)
			if err != nil {
				return err
			}
			d, err := o.Subscriber(ctx, ops.CLI(), args[0])
			if err != nil {
				return err
			}
			p := &d.Subscriber
			if asJSON {
				out := subShowJSON{Email: p.Email, Name: p.Name, Created: p.CreatedAt, Lists: []subShowListJSON{}}
				if out.Activity, err = a.activity(ctx, p.ID); err != nil {
					return err
				}
				for _, ss := range p.Subscriptions {
					out.Lists = append(out.Lists, subShowListJSON{ss.ListSlug, string(ss.Status), subscribers.ChoiceOf(ss).JSON(), ss.CreatedAt, ss.UpdatedAt})
				}
				return a.printJSON(out)
			}
			fmt.Fprintf(a.Stdout, "email:  %s\nname:   %s\nadded:  %s\n\n", p.Email, p.Name, p.CreatedAt.Local().Format("2006-01-02 15:04"))
			if len(p.Subscriptions) == 0 {
				fmt.Fprintln(a.Stdout, "on no list")
				return nil
			}
			t := newTable(a.Stdout, "LIST", "STATUS", "TOPICS", "SINCE", "UPDATED")
			for _, ss := range p.Subscriptions {
				t.row(ss.ListSlug, string(ss.Status), subscribers.ChoiceOf(ss).String(),
					ss.CreatedAt.Local().Format("2006-01-02 15:04"), ss.UpdatedAt.Local().Format("2006-01-02 15:04"))
			}
			if err := t.flush(); err != nil {
				return err
			}
			return a.printActivity(ctx, p.ID)
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

// eachSubscriber walks every page of a listing, in subscriber order.
func eachSubscriber(ctx context.Context, o *ops.Service, list string, q ops.SubscriberQuery, fn func(ops.SubscriberRow) error) error {
	q.Limit = 500
	for {
		p, err := o.Subscribers(ctx, ops.CLI(), list, q)
		if err != nil {
			return err
		}
		for _, r := range p.Rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		q.Cursor = p.Next
	}
}

// rowChoice is the topic choice of a listed row.
func rowChoice(r ops.SubscriberRow) subscribers.TopicChoice {
	if r.AllTopics {
		return subscribers.AllTopics
	}
	return subscribers.TopicChoice{Slugs: r.Topics}
}

// writeSubscribersJSON writes the listing as a JSON array, one record a
// line, as sub export --format json does, page by page.
func writeSubscribersJSON(ctx context.Context, o *ops.Service, list string, q ops.SubscriberQuery, w io.Writer) error {
	out := subscribers.NewRecordWriter(w)
	if err := eachSubscriber(ctx, o, list, q, func(r ops.SubscriberRow) error {
		return out.Write(subscribers.Record{Email: r.Email, Name: r.Name, Status: string(r.Status), Topics: rowChoice(r).JSON()})
	}); err != nil {
		return err
	}
	return out.Close()
}

// listErr keeps a store-worded "not on this list" error as it is and
// names the list in any other.
func listErr(l *tidings.List, err error) error {
	if errors.Is(err, ops.ErrNotFound) {
		return err
	}
	return fmt.Errorf("list %s: %w", l.Slug, err)
}

// storedAddress is the address as stored (the spelling the person was
// added with), for messages; the typed one when it cannot be read.
func storedAddress(ctx context.Context, o *ops.Service, email string) string {
	if d, err := o.Subscriber(ctx, ops.CLI(), email); err == nil {
		return d.Subscriber.Email
	}
	return email
}

func newSubTopicsCmd(a *App) *cobra.Command {
	var list string
	c := &cobra.Command{
		Use:   "topics EMAIL a,b|all [--list L]",
		Short: "Set the topics a subscriber receives",
		Args:  exactArgs(2, "EMAIL and TOPICS (a,b or all)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			choice, err := topicsArg(args[1])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			if err := o.SetSubscriberTopics(ctx, ops.CLI(), l.Slug, args[0], choice); err != nil {
				return listErr(l, err)
			}
			fmt.Fprintf(a.Stdout, "%s on list %s now receives: %s\n", storedAddress(ctx, o, args[0]), l.Slug, choice)
			return nil
		},
	}
	listFlag(c, &list)
	return c
}

func newSubUnsubscribeCmd(a *App) *cobra.Command {
	var list string
	c := &cobra.Command{
		Use:   "unsubscribe EMAIL [--list L]",
		Short: "Unsubscribe someone from a list (kept as unsubscribed)",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			email, l, err := a.setSubStatus(cmd.Context(), list, args[0], tidings.StatusUnsubscribed)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "unsubscribed %s from list %s\n", email, l.Slug)
			return nil
		},
	}
	listFlag(c, &list)
	return c
}

// setSubStatus sets the status of the person with this address on the
// list --list names (unsubscribe is the status unsubscribed), and returns
// the address as stored.
func (a *App) setSubStatus(ctx context.Context, list, email string, st tidings.Status) (string, *tidings.List, error) {
	o, l, err := a.opsAndList(ctx, list)
	if err != nil {
		return "", nil, err
	}
	if err := o.SetSubscriberStatus(ctx, ops.CLI(), l.Slug, email, st); err != nil {
		return "", nil, err
	}
	return storedAddress(ctx, o, email), l, nil
}

func newSubStatusCmd(a *App) *cobra.Command {
	var list string
	c := &cobra.Command{
		Use:   "status EMAIL pending|confirmed|unsubscribed|bounced|blocked [--list L]",
		Short: "Set a subscriber's status on a list by hand",
		Long: `Set a subscriber's status on a list by hand, e.g. to block an address or
to confirm someone who asked you directly. Only confirmed subscribers
receive issues.`,
		Args: exactArgs(2, "EMAIL and STATUS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := tidings.ParseStatus(args[1])
			if err != nil {
				return usagef("%v", err)
			}
			email, l, err := a.setSubStatus(cmd.Context(), list, args[0], st)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "%s on list %s is now %s\n", email, l.Slug, st)
			return nil
		},
	}
	listFlag(c, &list)
	return c
}

func newSubDeleteCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "delete EMAIL",
		Short: "Erase a person everywhere: subscriptions, deliveries, bounces",
		Args:  exactArgs(1, "EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, err := a.ops(ctx)
			if err != nil {
				return err
			}
			if err := o.DeleteSubscriber(ctx, ops.CLI(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "erased %s from every list and record\n", args[0])
			return nil
		},
	}
}
