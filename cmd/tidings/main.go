// Command tidings is the newsletter mailer: admin CLI, sender and daemon.
//
// main only turns signals into a cancelled context and errors into exit
// codes; each subcommand lives in a file of its own and wires packages
// together, holding no logic of its own beyond flag parsing.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := NewApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	code := app.Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Exit codes (CONTRACT.md): 0 success, 1 failure, 2 usage error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// reportedError is a failure whose details were already printed (e.g. the
// bad rows of an import); it still exits 1 with its one-line summary.
type reportedError struct{ msg string }

func (e reportedError) Error() string { return e.msg }

// Run executes one command line and returns the process exit code. Errors
// are printed here, once, as one line.
func (a *App) Run(ctx context.Context, args []string) int {
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	cmd, err := root.ExecuteContextC(ctx)
	defer a.close()
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	msg := strings.TrimSpace(strings.ReplaceAll(err.Error(), "\n", " "))
	fmt.Fprintf(a.Stderr, "tidings: %s\n", msg)
	if code == exitUsage {
		// Point at the help of the command that was misused, not the root's.
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// exitCode is the one place errors become exit statuses.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	// cobra's own usage errors are plain errors; recognise them by how they
	// begin. Only the beginning: "bind: invalid argument" (EINVAL) or a
	// relay's "server accepts …" deeper in a wrapped error is a failure.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most", "required flag", "if any flags in the group"} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitFailure
}

func (a *App) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "tidings",
		Short: "A newsletter mailer: tailored digests by topic, over SMTP",
		Long: `tidings sends a newsletter's issues to each subscriber with only the
articles of the topics they chose. See README.md for a tour.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	a.bindGlobalFlags(root)

	issue := newIssueCmd(a)
	issue.AddCommand(newIssuePreviewCmd(a))
	root.AddCommand(
		newListCmd(a),
		newTopicCmd(a),
		newSubCmd(a),
		issue,
		newSendCmd(a),
		newStatusCmd(a),
		newDKIMCmd(a),
		newScheduleCmd(a),
		newServeCmd(a),
		newDemoCmd(a),
		newBouncesCmd(a),
		newReportCmd(a),
		newUserCmd(a), newTokenCmd(a), newAuditCmd(a),
	)
	a.registerCompletions(root)
	return root
}

// Positional-argument validators that report usage errors (exit 2).
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %s, got %d argument(s)", cmdName(cmd), names, len(args))
		}
		return nil
	}
}

func rangeArgs(min, max int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return usagef("%s: want %s, got %d argument(s)", cmdName(cmd), names, len(args))
		}
		return nil
	}
}

// cmdName is the command path without the program name, which Run already
// prints in front of every error ("tidings: sub add: …", not
// "tidings: tidings sub add: …").
func cmdName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}
