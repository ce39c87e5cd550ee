package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
)

// listDKIMFlags are `list set --dkim-key FILE.pem --dkim-selector SEL`:
// the list's own signing key, stored in the database (PEM contents) so
// that every process sending the list signs with it and a backup restores
// sending. `--dkim-key ""` removes it. They shadow the global --dkim-key
// and --dkim-selector (the process key), which TIDINGS_DKIM_KEY must not
// be able to set on a list by accident.
type listDKIMFlags struct {
	file, selector string
	pem            string // read by load
}

func (f *listDKIMFlags) bind(c *cobra.Command) {
	c.Flags().StringVar(&f.file, "dkim-key", "", `the list's own DKIM private key (PEM file), stored in the database; "" removes it`)
	c.Flags().StringVar(&f.selector, "dkim-selector", "", "selector of the list's DKIM key, e.g. s2024")
}

func (f *listDKIMFlags) changed(c *cobra.Command) bool {
	return c.Flags().Changed("dkim-key") || c.Flags().Changed("dkim-selector")
}

// load reads and checks the key file before anything is stored.
func (f *listDKIMFlags) load(c *cobra.Command) error {
	if !f.changed(c) {
		return nil
	}
	if !c.Flags().Changed("dkim-key") {
		return usagef("list set: --dkim-selector without --dkim-key FILE.pem")
	}
	if f.file == "" {
		if f.selector != "" {
			return usagef(`list set: --dkim-key "" removes the list's key; drop --dkim-selector`)
		}
		return nil
	}
	if f.selector == "" || strings.ContainsAny(f.selector, " ./@") {
		return usagef("list set: --dkim-selector %q: want the DNS label the key is published under, such as s2024", f.selector)
	}
	b, err := os.ReadFile(f.file)
	if err != nil {
		return fmt.Errorf("list set: read dkim key: %w", err)
	}
	if _, err := mailer.ParseDKIMKey(b); err != nil {
		return usagef("list set: --dkim-key %s: %v", f.file, err)
	}
	f.pem = string(b)
	return nil
}

// apply sets (or removes) the list's key; load ran first.
func (f *listDKIMFlags) apply(c *cobra.Command, l *tidings.List) {
	if !f.changed(c) {
		return
	}
	l.DKIMKey, l.DKIMSelector = f.pem, f.selector
	if f.pem == "" {
		l.DKIMSelector = ""
	}
}
