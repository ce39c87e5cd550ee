//go:build !h6pending

package main

import "github.com/spf13/cobra"

// Placeholders for serve and demo until the delivery engine's cmd helpers
// (send.go) and the web server's (web.go) land; serve.go and demo.go
// carry the h6pending build tag meanwhile. Deleted with that tag.
func newServeCmd(a *App) *cobra.Command { return stub("serve") }
func newDemoCmd(a *App) *cobra.Command  { return stub("demo") }
