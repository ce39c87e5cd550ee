package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

func newIssuePreviewCmd(a *App) *cobra.Command {
	var to, htmlFile, textFile, emlFile string
	c := &cobra.Command{
		Use:   "preview ID --to EMAIL [--html FILE] [--text FILE] [--eml FILE]",
		Short: "Write the exact message a subscriber would get (the .eml on stdout unless files are named)",
		Long: `Render issue ID for one subscriber of its list, exactly as sending would:
their articles only, their links and tokens, every header. With no file
flag the whole message (.eml) goes to standard output; --html and --text
write the decoded parts, --eml the message.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(to) == "" {
				return usagef("issue preview: --to EMAIL is required")
			}
			svc, err := a.ops(ctx)
			if err != nil {
				return err
			}
			p, err := svc.Preview(ctx, ops.CLI(), id, ops.PreviewFor{Email: to})
			if err != nil {
				var fe *ops.FieldError
				if errors.As(err, &fe) {
					return fmt.Errorf("preview: %s", fe.Problem)
				}
				return fmt.Errorf("preview: %w", err)
			}
			if p.Status != tidings.StatusConfirmed {
				fmt.Fprintf(a.Stderr, "note: %s is %s on list %s; only confirmed subscribers receive issues\n", p.Email, p.Status, p.List)
			}
			if htmlFile == "" && textFile == "" && emlFile == "" {
				_, err := a.Stdout.Write(p.EML)
				return err
			}
			// Everything is rendered; write the files one by one, each
			// whole or not at all.
			files := map[string][]byte{}
			if htmlFile != "" {
				files[htmlFile] = []byte(p.HTML)
			}
			if textFile != "" {
				files[textFile] = []byte(p.Text)
			}
			if emlFile != "" {
				files[emlFile] = p.EML
			}
			for name, b := range files {
				if err := writeFileAtomic(name, b); err != nil {
					return fmt.Errorf("preview: %w", err)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the subscriber's email address (required)")
	c.Flags().StringVar(&htmlFile, "html", "", "write the HTML part to FILE")
	c.Flags().StringVar(&textFile, "text", "", "write the plain-text part to FILE")
	c.Flags().StringVar(&emlFile, "eml", "", "write the whole message to FILE")
	return c
}

// writeFileAtomic writes name through a temporary file in its directory.
func writeFileAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tidings-preview-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
