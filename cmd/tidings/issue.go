package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/ops"
)

func newIssueCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "issue",
		Short: "Import, list, show and tag issues",
		Args:  subcommandArgs("import, ls, show, tag, retag, ready or preview"),
		RunE:  func(*cobra.Command, []string) error { return nil },
	}
	c.AddCommand(newIssueImportCmd(a), newIssueLsCmd(a), newIssueShowCmd(a), newIssueTagCmd(a), newIssueRetagCmd(a), newIssueReadyCmd(a))
	return c
}

// parseIssueID reads an issue id argument; a malformed one is a usage error.
func parseIssueID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("issue id %q: want a positive number (see tidings issue ls)", s)
	}
	return id, nil
}

type issueSummaryJSON struct {
	ID       int64  `json:"id"`
	Number   int    `json:"number"`
	Title    string `json:"title"`
	Status   string `json:"status,omitempty"`
	Date     string `json:"date,omitempty"`
	Articles int    `json:"articles"`
}

func newIssueImportCmd(a *App) *cobra.Command {
	var list string
	var asJSON, replace bool
	c := &cobra.Command{
		Use:   "import FILE.md",
		Short: "Import an issue from Markdown (front matter format or a bulletin as published); prints its id",
		Long: `Import an issue from a Markdown file ("-" reads standard input) and print
the new issue's id. Articles without a {topics=…} attribute get the topics
whose keywords they mention. The file is refused as a whole, with its
line, when anything is wrong: nothing is stored then.`,
		Args: exactArgs(1, "FILE.md"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			var src []byte
			var err error
			if name == "-" {
				name = "stdin"
				src, err = io.ReadAll(a.Stdin)
			} else {
				src, err = os.ReadFile(name)
			}
			if err != nil {
				return fmt.Errorf("import %s: %w", name, err)
			}
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			is, err := svc.ImportIssue(ctx, ops.CLI(), list, name, src, replace)
			if err != nil {
				if errors.Is(err, issues.ErrExists) {
					return fmt.Errorf("%w (--replace overwrites a draft)", err)
				}
				return err
			}
			if asJSON {
				return a.printJSON(issueSummaryJSON{ID: is.ID, Number: is.Number, Title: is.Title, Status: string(is.Status), Date: is.Date, Articles: len(is.Articles)})
			}
			// stdout carries only the id, for scripts; the summary goes to stderr.
			d, err := svc.Issue(ctx, ops.CLI(), is.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "imported %s issue %d into list %s: %s, %d articles\n", name, is.Number, d.List.Slug, is.Title, len(is.Articles))
			for _, art := range is.Articles {
				fmt.Fprintf(a.Stderr, "  %d. %s  [%s]\n", art.Position, art.Title, topicsLabel(art))
			}
			fmt.Fprintln(a.Stdout, is.ID)
			return nil
		},
	}
	listFlag(c, &list)
	jsonFlag(c, &asJSON)
	c.Flags().BoolVar(&replace, "replace", false, "overwrite the list's issue of the same number while it is a draft or ready")
	return c
}

// topicsLabel says who gets an article.
func topicsLabel(art tidings.Article) string {
	if len(art.Topics) == 0 {
		return "no topic: every reader"
	}
	return strings.Join(art.Topics, ",") + " by " + string(art.TaggedBy)
}

func newIssueLsCmd(a *App) *cobra.Command {
	var list string
	var asJSON bool
	c := &cobra.Command{
		Use:   "ls",
		Short: "List a list's issues",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			all, err := svc.Issues(ctx, ops.CLI(), list)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]issueSummaryJSON, 0, len(all))
				for _, is := range all {
					out = append(out, issueSummaryJSON{ID: is.ID, Number: is.Number, Title: is.Title, Status: string(is.Status), Date: is.Date, Articles: len(is.Articles)})
				}
				return a.printJSON(out)
			}
			if len(all) == 0 {
				slug := list
				if subs, err := a.store(ctx); err == nil && slug == "" { // the only list, named
					if l, err := subs.ResolveList(ctx, ""); err == nil {
						slug = l.Slug
					}
				}
				fmt.Fprintf(a.Stderr, "no issues in list %s yet: import one with tidings issue import FILE.md\n", slug)
				return nil
			}
			t := newTable(a.Stdout, "ID", "NUMBER", "STATUS", "ARTICLES", "DATE", "TITLE")
			for _, is := range all {
				t.row(fmt.Sprint(is.ID), fmt.Sprint(is.Number), string(is.Status), fmt.Sprint(len(is.Articles)), is.Date, is.Title)
			}
			return t.flush()
		},
	}
	listFlag(c, &list)
	jsonFlag(c, &asJSON)
	return c
}

type articleJSON struct {
	Position int      `json:"position"`
	Title    string   `json:"title"`
	Topics   []string `json:"topics"`
	TaggedBy string   `json:"tagged_by"`
}

type issueJSON struct {
	ID        int64         `json:"id"`
	List      string        `json:"list"`
	Number    int           `json:"number"`
	Title     string        `json:"title"`
	Subject   string        `json:"subject"`
	Preheader string        `json:"preheader"`
	Date      string        `json:"date"`
	Status    string        `json:"status"`
	SentAt    string        `json:"sent_at,omitempty"`
	Articles  []articleJSON `json:"articles"`
}

func newIssueShowCmd(a *App) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "show ID",
		Short: "Show an issue and who gets each article",
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
			d, err := svc.Issue(cmd.Context(), ops.CLI(), id)
			if err != nil {
				return err
			}
			is, l := d.Issue, d.List
			out := issueJSON{ID: is.ID, List: l.Slug, Number: is.Number, Title: is.Title, Subject: is.Subject,
				Preheader: is.Preheader, Date: is.Date, Status: string(is.Status), Articles: []articleJSON{}}
			if !is.SentAt.IsZero() {
				out.SentAt = is.SentAt.Format("2006-01-02 15:04:05Z07:00")
			}
			for _, art := range is.Articles {
				topics := art.Topics
				if topics == nil {
					topics = []string{}
				}
				out.Articles = append(out.Articles, articleJSON{art.Position, art.Title, topics, string(art.TaggedBy)})
			}
			if asJSON {
				return a.printJSON(out)
			}
			fmt.Fprintf(a.Stdout, "issue %d: %s, number %d of list %s, %s\n", is.ID, is.Title, is.Number, l.Slug, is.Status)
			if is.Subject != "" {
				fmt.Fprintf(a.Stdout, "subject: %s\n", is.Subject)
			}
			if is.Date != "" {
				fmt.Fprintf(a.Stdout, "date: %s\n", is.Date)
			}
			if out.SentAt != "" {
				fmt.Fprintf(a.Stdout, "sent: %s\n", out.SentAt)
			}
			t := newTable(a.Stdout, "POS", "TOPICS", "BY", "TITLE")
			for _, art := range is.Articles {
				topics := strings.Join(art.Topics, ",")
				if topics == "" {
					topics = "(everyone)"
				}
				t.row(fmt.Sprint(art.Position), topics, string(art.TaggedBy), art.Title)
			}
			return t.flush()
		},
	}
	jsonFlag(c, &asJSON)
	return c
}

func newIssueTagCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "tag ID POSITION a,b|all|none",
		Short: "Set an article's topics by hand (keywords no longer change them)",
		Long: `Set the topics of the article at POSITION (see tidings issue show) by hand:
a comma-separated list of topic slugs, "all" for every topic of the list,
or "none" for no topic, which sends the article to every reader.`,
		Args: exactArgs(3, "ID POSITION TOPICS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			pos, err := strconv.Atoi(args[1])
			if err != nil || pos <= 0 {
				return usagef("issue tag: position %q: want an article number (1, 2, …)", args[1])
			}
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			slugs := []string{}
			switch v := strings.TrimSpace(args[2]); strings.ToLower(v) {
			case "none", "":
			case "all":
				d, err := svc.Issue(ctx, ops.CLI(), id)
				if err != nil {
					return err
				}
				for _, t := range d.Topics {
					slugs = append(slugs, t.Slug)
				}
			default:
				slugs = strings.Split(v, ",")
			}
			if _, err := svc.UpdateArticle(ctx, ops.CLI(), id, pos, ops.ArticleChange{Topics: &slugs}); err != nil {
				var fe *ops.FieldError
				if errors.As(err, &fe) {
					return fmt.Errorf("tag issue %d article %d: %s", id, pos, fe.Problem)
				}
				return err
			}
			if len(slugs) == 0 {
				fmt.Fprintf(a.Stdout, "issue %d article %d: no topic (every reader gets it)\n", id, pos)
			} else {
				fmt.Fprintf(a.Stdout, "issue %d article %d: %s\n", id, pos, strings.Join(slugs, ","))
			}
			return nil
		},
	}
	return c
}

func newIssueRetagCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "retag ID",
		Short: "Re-apply topic keywords to the articles not tagged by hand or attribute",
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
			n, err := svc.Retag(cmd.Context(), ops.CLI(), id)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "issue %d: %d article(s) retagged\n", id, n)
			return nil
		},
	}
}

func newIssueReadyCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "ready ID",
		Short: "Mark a draft ready for the list's recurring schedule",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			if err := svc.MarkReady(ctx, ops.CLI(), id); err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "issue %d is ready\n", id)
			return nil
		},
	}
}
