package main

// Placeholders for commands whose files are being written. Each owner
// deletes its stub from this file when its own file defines the function.

import "github.com/spf13/cobra"

func stub(use string) *cobra.Command {
	return &cobra.Command{Use: use, Hidden: true, RunE: func(*cobra.Command, []string) error {
		return usagef("%s: not built yet", use)
	}}
}
