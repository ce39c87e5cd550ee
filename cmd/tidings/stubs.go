package main

// Placeholders for commands whose files are being written. Each owner
// deletes its stub from this file when its own file defines the function.

import "github.com/spf13/cobra"

func stub(use string) *cobra.Command {
	return &cobra.Command{Use: use, Hidden: true, RunE: func(*cobra.Command, []string) error {
		return usagef("%s: not built yet", use)
	}}
}

func newListCmd(a *App) *cobra.Command         { return stub("list") }
func newTopicCmd(a *App) *cobra.Command        { return stub("topic") }
func newSubCmd(a *App) *cobra.Command          { return stub("sub") }
func newIssueCmd(a *App) *cobra.Command        { return stub("issue") }
func newIssuePreviewCmd(a *App) *cobra.Command { return stub("preview") }
func newSendCmd(a *App) *cobra.Command         { return stub("send") }
func newStatusCmd(a *App) *cobra.Command       { return stub("status") }
func newDKIMCmd(a *App) *cobra.Command         { return stub("dkim") }
func newScheduleCmd(a *App) *cobra.Command     { return stub("schedule") }
func newServeCmd(a *App) *cobra.Command        { return stub("serve") }
func newDemoCmd(a *App) *cobra.Command         { return stub("demo") }
func newBouncesCmd(a *App) *cobra.Command      { return stub("bounces") }
