package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/internal/demo"
	"github.com/tidings/tidings/ops"
)

func newDemoCmd(a *App) *cobra.Command {
	var once, verbose bool
	var dir string
	c := &cobra.Command{
		Use:   "demo [--once] [--dir DIR]",
		Short: "A complete local run: sample list, readers and issue, sent by the real daemon to a built-in mailbox",
		Long: `demo needs nothing configured and no network. In ./demo (or --dir; a
temporary folder when ./demo cannot be made) it creates a database with a
Chinese list for the bundled sample bulletin, six topics, 36 sample readers
with different topic choices and a demo editor for the console, imports the
sample issue and schedules it a few seconds ahead. Then it runs the real
daemon (tidings serve) with a built-in SMTP server on 127.0.0.1 that
captures every message, prints who got which articles, and the addresses
of the console (with the editor's sign-in), the captured mails and the
reader pages.

Each run starts afresh: it deletes only the files an earlier demo made in
that folder, and refuses a folder holding anything else.

--once exits (status 0) when the send is done; without it the daemon keeps
serving until Ctrl-C.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr := "127.0.0.1:0"
			if cmd.Flags().Changed("http") {
				addr = a.cfg.HTTPAddr
			}
			stderr := a.Stderr
			defer func() { a.Stderr = stderr }() // Run returns after the daemon stopped
			return demo.Run(cmd.Context(), demo.Config{
				Dir: dir, DirSet: cmd.Flags().Changed("dir"), HTTPAddr: addr, Once: once, Verbose: verbose,
				Stdout: a.Stdout, Stderr: stderr,
				Setup: func(ctx context.Context, s demo.Settings) (*ops.Service, error) {
					a.close()
					a.opsSvc = nil
					// Nothing of the user's configuration leaks in: the demo's
					// own database, the capturing relay, no key, no rate, and
					// the console on the daemon's one listener.
					a.cfg.DBPath, a.cfg.SMTPURLs, a.cfg.BaseURL = s.DBPath, []string{s.SMTPURL}, s.BaseURL
					a.cfg.AdminURL, a.cfg.AdminHTTP = s.BaseURL, ""
					a.cfg.DKIMKey, a.cfg.DKIMSelector, a.cfg.Rate = "", "", 0
					a.cfg.LogFormat = "text"
					a.Stderr = s.Log
					return a.ops(ctx)
				},
				Daemon: func(ctx context.Context, d demo.Daemon) error {
					return a.runDaemon(ctx, daemonOptions{listener: d.Listener, routes: d.Routes, afterSend: d.AfterSend})
				},
			})
		},
	}
	c.Flags().BoolVar(&once, "once", false, "exit when the send is done (scripts, CI)")
	c.Flags().StringVar(&dir, "dir", "demo", "folder for the demo's database and files")
	c.Flags().BoolVar(&verbose, "verbose", false, "show the daemon's log")
	return c
}
