package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/ops"
)

// App carries what every command needs: streams, environment, the clock
// and the lazily opened database. Tests build one per command line.
type App struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	Now    func() time.Time

	cfg     Config
	db      *db.DB
	inbound *inboundOptions // serve's inbound-mail flags, when serve is built
	opsSvc  *ops.Service    // the operations layer, built once by a.ops
}

// NewApp makes an App reading configuration through getenv.
func NewApp(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *App {
	return &App{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv, Now: time.Now}
}

// DB opens (creating and migrating) the configured database once.
func (a *App) DB(ctx context.Context) (*db.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	d, err := db.Open(ctx, a.cfg.DBPath)
	if err != nil {
		return nil, err
	}
	d.Now = a.Now
	a.db = d
	return d, nil
}

func (a *App) close() {
	if a.db != nil {
		a.db.Close()
		a.db = nil
		a.opsSvc = nil
	}
}

// printJSON writes v as indented JSON on stdout.
func (a *App) printJSON(v any) error {
	enc := json.NewEncoder(a.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// jsonFlag adds the --json flag CONTRACT.md promises on listing commands.
func jsonFlag(c *cobra.Command, v *bool) {
	c.Flags().BoolVar(v, "json", false, "print JSON instead of a table")
}
