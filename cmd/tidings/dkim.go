// dkim.go holds the dkim command group (keygen, and attaching a key to the
// lists of a domain) and the lookup of a list's own key by its domain.

package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// listKeyOf is the own DKIM key of a list whose From address is at
// domain, nil when none has one. Lists are few; the query is cheap next
// to an SMTP session.
func listKeyOf(ctx context.Context, d *db.DB, domain string) (*mailer.DKIM, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT from_addr, dkim_selector, dkim_key FROM lists WHERE dkim_key != '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l tidings.List
		if err := rows.Scan(&l.From, &l.DKIMSelector, &l.DKIMKey); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		if strings.EqualFold(l.Domain(), domain) {
			return mailer.ListDKIM(l.DKIMSelector, l.DKIMKey)
		}
	}
	return nil, rows.Err()
}

func newDKIMCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "dkim", Short: "DKIM signing keys"}
	var selector, kind, out, domain string
	var attach bool
	keygen := &cobra.Command{
		Use:   "keygen --selector S [--type rsa|ed25519] [--out FILE] [--domain D [--attach]]",
		Short: "Write a new DKIM private key and print the DNS TXT record to publish",
		Long: `Write a new DKIM private key (mode 0600, never overwriting a file) and print
the DNS TXT record to publish for it.

With --domain D --attach, the key is also stored in the database as the own
key of every list whose From address is at D: every process that sends
those lists then signs their mail with it (d=D), and a database backup is
enough to restore sending. Publish the record before the next send, or
receivers find no key for the signatures. Without --attach, keygen names
the lists of D that could take the key.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if selector == "" || strings.ContainsAny(selector, " ./@") {
				return usagef("dkim keygen: --selector %q: want a DNS label such as s2024", selector)
			}
			if attach && domain == "" {
				return usagef("dkim keygen: --attach needs --domain (the From domain of the lists to sign)")
			}
			if out == "" {
				out = selector + ".dkim.pem"
			}
			// The lists are found before the key is written, so that a
			// refused --attach leaves no file behind.
			var lists []tidings.List
			if domain != "" {
				var err error
				if lists, err = a.listsOfDomain(ctx, domain, attach); err != nil {
					return err
				}
				if attach && len(lists) == 0 {
					return fmt.Errorf("dkim keygen --attach: no list sends from %s (see 'tidings list ls')", domain)
				}
			}
			pemKey, txt, err := mailer.GenerateDKIMKey(kind)
			if err != nil {
				return usagef("dkim keygen: %v", err)
			}
			// O_EXCL: never overwrite a key that may be published already.
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("dkim keygen: %w", err)
			}
			if _, err := f.Write(pemKey); err != nil {
				f.Close()
				os.Remove(out)
				return fmt.Errorf("dkim keygen: write %s: %w", out, err)
			}
			if err := f.Close(); err != nil {
				os.Remove(out)
				return fmt.Errorf("dkim keygen: write %s: %w", out, err)
			}
			if domain == "" {
				domain = a.singleListDomain(ctx)
			}
			fmt.Fprintf(a.Stdout, "wrote %s (private key, mode 0600: keep it secret)\n", out)
			fmt.Fprintf(a.Stdout, "publish this DNS TXT record:\n\n%s\n\n", mailer.ZoneLine(selector, domain, txt))
			var slugs []string
			for _, l := range lists {
				slugs = append(slugs, l.Slug)
			}
			switch {
			case attach:
				if err := a.attachDKIM(ctx, slugs, selector, string(pemKey)); err != nil {
					return err
				}
				fmt.Fprintf(a.Stdout, "attached the key to the lists of %s: %s; every process signs their mail with it (d=%s) from the next message on: publish the record first\n",
					domain, strings.Join(slugs, ", "), domain)
			case len(slugs) > 0:
				fmt.Fprintf(a.Stdout, "lists of %s: %s; store the key with them with --attach, or 'tidings list set SLUG --dkim-key %s --dkim-selector %s'\n",
					domain, strings.Join(slugs, ", "), out, selector)
			default:
				fmt.Fprintf(a.Stdout, "then send with --dkim-key %s --dkim-selector %s (or TIDINGS_DKIM_KEY / TIDINGS_DKIM_SELECTOR), or store it with a list: 'tidings list set SLUG --dkim-key %s --dkim-selector %s'\n",
					out, selector, out, selector)
			}
			return nil
		},
	}
	keygen.Flags().StringVar(&selector, "selector", "", "DKIM selector, e.g. s2024 (required)")
	keygen.Flags().StringVar(&kind, "type", "rsa", "key type: rsa (2048 bits) or ed25519")
	keygen.Flags().StringVar(&out, "out", "", "file for the private key (default SELECTOR.dkim.pem); never overwritten")
	keygen.Flags().StringVar(&domain, "domain", "", "signing domain for the record's name (default: the From domain when the database holds one list)")
	keygen.Flags().BoolVar(&attach, "attach", false, "store the key in the database as the own key of every list whose From address is at --domain")
	c.AddCommand(keygen)
	return c
}

// listsOfDomain are the lists whose From address is at domain. Without
// must, a missing database is no list at all (keygen works before init).
func (a *App) listsOfDomain(ctx context.Context, domain string, must bool) ([]tidings.List, error) {
	if _, err := os.Stat(a.cfg.DBPath); err != nil && !must {
		return nil, nil
	}
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	all, err := subscribers.NewStore(d).Lists(ctx)
	if err != nil {
		return nil, err
	}
	var out []tidings.List
	for _, l := range all {
		if strings.EqualFold(l.Domain(), strings.TrimSuffix(domain, ".")) {
			out = append(out, l)
		}
	}
	return out, nil
}

// attachDKIM stores a key as the own key of the lists, through the
// operations layer (audited; the key itself never enters the audit log).
func (a *App) attachDKIM(ctx context.Context, slugs []string, selector, pemKey string) error {
	svc, err := a.ops(ctx)
	if err != nil {
		return err
	}
	for _, slug := range slugs {
		if _, err := svc.UpdateList(ctx, ops.CLI(), slug, func(l *tidings.List) error {
			l.DKIMSelector, l.DKIMKey = selector, pemKey
			return nil
		}); err != nil {
			return fmt.Errorf("dkim keygen --attach: list %s: %w", slug, err)
		}
	}
	return nil
}

// singleListDomain is the From domain of the only list, if there is
// exactly one and the database exists; "" otherwise.
func (a *App) singleListDomain(ctx context.Context) string {
	if _, err := os.Stat(a.cfg.DBPath); err != nil {
		return ""
	}
	d, err := a.DB(ctx)
	if err != nil {
		return ""
	}
	ls, err := subscribers.NewStore(d).Lists(ctx)
	if err != nil || len(ls) != 1 {
		return ""
	}
	return ls[0].Domain()
}
