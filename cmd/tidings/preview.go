package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
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
			li, err := a.loadIssue(ctx, args[0])
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			is, l := li.issue, li.list
			rc, status, err := recipientOn(ctx, li.subs, l, to)
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			d, err := a.DB(ctx)
			if err != nil {
				return err
			}
			secret, err := d.Secret(ctx)
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			signer := token.New(secret)
			signer.Now = a.Now
			r := &render.Renderer{Links: tidings.Links{Base: a.cfg.BaseURL}, Signer: signer, Now: a.Now}
			e, err := r.Prepare(l, li.topics, is)
			if err != nil {
				return fmt.Errorf("preview: %w", err)
			}
			var eml bytes.Buffer
			if _, err := e.WriteMessage(&eml, rc, render.MessageOptions{}); err != nil {
				if errors.Is(err, render.ErrNoArticles) {
					key, _ := e.Combination(rc)
					return fmt.Errorf("preview: %s gets no article of issue %d (topics: %s), so sending skips them", rc.Email, id, key)
				}
				return fmt.Errorf("preview: %w", err)
			}
			if status != tidings.StatusConfirmed {
				fmt.Fprintf(a.Stderr, "note: %s is %s on list %s; only confirmed subscribers receive issues\n", rc.Email, status, l.Slug)
			}
			if htmlFile == "" && textFile == "" && emlFile == "" {
				_, err := a.Stdout.Write(eml.Bytes())
				return err
			}
			// Render everything first, then write: a failure leaves no
			// half of the files behind.
			files := map[string][]byte{}
			if htmlFile != "" {
				if files[htmlFile], err = e.HTML(rc); err != nil {
					return fmt.Errorf("preview: %w", err)
				}
			}
			if textFile != "" {
				if files[textFile], err = e.Text(rc); err != nil {
					return fmt.Errorf("preview: %w", err)
				}
			}
			if emlFile != "" {
				files[emlFile] = eml.Bytes()
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

// recipientOn is the subscriber with address email on list l as a
// Recipient, with their status there. Anyone not on the list is an error:
// a preview must be a message that could really be sent.
func recipientOn(ctx context.Context, ss *subscribers.Store, l *tidings.List, email string) (tidings.Recipient, tidings.Status, error) {
	p, err := ss.Get(ctx, email)
	if errors.Is(err, subscribers.ErrNotFound) {
		return tidings.Recipient{}, "", fmt.Errorf("%s is not a subscriber of list %s (see tidings sub ls --list %s)", email, l.Slug, l.Slug)
	}
	if err != nil {
		return tidings.Recipient{}, "", err
	}
	for _, sub := range p.Subscriptions {
		if sub.ListID == l.ID {
			rc := tidings.Recipient{SubscriberID: p.ID, Email: p.Email, Name: p.Name, AllTopics: sub.AllTopics}
			if !sub.AllTopics {
				rc.Topics = sub.Topics
			}
			return rc, sub.Status, nil
		}
	}
	return tidings.Recipient{}, "", fmt.Errorf("%s is not a subscriber of list %s (see tidings sub ls --list %s)", p.Email, l.Slug, l.Slug)
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
