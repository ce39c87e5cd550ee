package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

func newTopicCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "topic",
		Short: "Manage the topics of a list",
		Args:  subcommandArgs("add, ls, set or rm"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newTopicAddCmd(a), newTopicLsCmd(a), newTopicSetCmd(a), newTopicRmCmd(a))
	return c
}

// splitKeywordsFlag reads --keywords as the store cleans keywords.
func splitKeywordsFlag(s string) []string {
	return subscribers.CleanKeywords([]string{s})
}

func newTopicAddCmd(a *App) *cobra.Command {
	var list, name, keywords string
	c := &cobra.Command{
		Use:   "add SLUG --name NAME [--keywords k1,k2,...] [--list L]",
		Short: "Add a topic to a list",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usagef("topic add: --name is required")
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			t := &tidings.Topic{Slug: args[0], Name: name, Keywords: splitKeywordsFlag(keywords)}
			if err := o.AddTopic(ctx, ops.CLI(), l.Slug, t); err != nil {
				return fmt.Errorf("list %s: %w", l.Slug, err)
			}
			fmt.Fprintf(a.Stdout, "added topic %s to list %s\n", t.Slug, l.Slug)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "display name, e.g. 人工智能")
	c.Flags().StringVar(&keywords, "keywords", "", "comma-separated keywords that tag articles with this topic")
	listFlag(c, &list)
	return c
}

type topicJSON struct {
	Slug        string   `json:"slug"`
	Name        string   `json:"name"`
	Keywords    []string `json:"keywords"`
	Subscribers int      `json:"subscribers"`
}

func newTopicLsCmd(a *App) *cobra.Command {
	var list string
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls [--list L] [--json]",
		Short: "List a list's topics with their confirmed subscribers",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			topics, err := o.Topics(ctx, ops.CLI(), l.Slug)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]topicJSON, 0, len(topics))
				for _, t := range topics {
					out = append(out, topicJSON{t.Slug, t.Name, t.Keywords, t.Subscribers})
				}
				return a.printJSON(out)
			}
			if len(topics) == 0 {
				fmt.Fprintf(a.Stderr, "list %s has no topics yet: add one with tidings topic add\n", l.Slug)
				return nil
			}
			tb := newTable(a.Stdout, "SLUG", "NAME", "SUBSCRIBERS", "KEYWORDS")
			for _, t := range topics {
				tb.row(t.Slug, t.Name, fmt.Sprint(t.Subscribers), strings.Join(t.Keywords, ","))
			}
			return tb.flush()
		},
	}
	listFlag(c, &list)
	jsonFlag(c, &asJSON)
	return c
}

func newTopicSetCmd(a *App) *cobra.Command {
	var list, name, keywords string
	c := &cobra.Command{
		Use:   "set SLUG [--name NAME] [--keywords k1,k2,...] [--list L]",
		Short: "Change a topic's name or keywords",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			nameSet, kwSet := cmd.Flags().Changed("name"), cmd.Flags().Changed("keywords")
			if !nameSet && !kwSet {
				return usagef("topic set: nothing to change: give --name or --keywords")
			}
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			_, err = o.UpdateTopic(ctx, ops.CLI(), l.Slug, args[0], func(t *tidings.Topic) error {
				if nameSet {
					t.Name = name
				}
				if kwSet {
					t.Keywords = splitKeywordsFlag(keywords)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("list %s: %w", l.Slug, err)
			}
			fmt.Fprintf(a.Stdout, "updated topic %s of list %s\n", args[0], l.Slug)
			return nil
		},
	}
	c.Flags().StringVar(&name, "name", "", "display name")
	c.Flags().StringVar(&keywords, "keywords", "", "comma-separated keywords (replaces the old ones; empty clears them)")
	listFlag(c, &list)
	return c
}

func newTopicRmCmd(a *App) *cobra.Command {
	var list string
	c := &cobra.Command{
		Use:   "rm SLUG [--list L]",
		Short: "Delete a topic (subscribers keep their other topics)",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o, l, err := a.opsAndList(ctx, list)
			if err != nil {
				return err
			}
			if err := o.DeleteTopic(ctx, ops.CLI(), l.Slug, args[0]); err != nil {
				return fmt.Errorf("list %s: %w", l.Slug, err)
			}
			fmt.Fprintf(a.Stdout, "deleted topic %s of list %s\n", args[0], l.Slug)
			return nil
		},
	}
	listFlag(c, &list)
	return c
}
