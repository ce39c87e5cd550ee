package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// relays parses the configured SMTP URLs; a bad one is a usage error
// that names it (without its password). A relay without helo= says the
// host's fully-qualified name, else the base URL's host (never a bare
// single-label name: many receivers refuse one).
func (a *App) relays() ([]mailer.Relay, error) {
	rs, err := mailer.ParseRelayURLs(a.cfg.SMTPURLs)
	if err != nil {
		return nil, usagef("%v", err)
	}
	helo := ""
	for i := range rs {
		if rs[i].Helo == "" {
			if helo == "" {
				helo = mailer.DefaultHelo(baseURLHost(a.cfg.BaseURL))
			}
			rs[i].Helo = helo // "" still: each connection says its address literal
		}
	}
	return rs, nil
}

// baseURLHost is the host of a base URL, "" when it has none.
func baseURLHost(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func (a *App) dkim() (*mailer.DKIM, error) {
	if a.cfg.DKIMKey == "" {
		if a.cfg.DKIMSelector != "" {
			return nil, usagef("--dkim-selector without --dkim-key")
		}
		return nil, nil
	}
	k, err := mailer.LoadDKIM(a.cfg.DKIMKey, a.cfg.DKIMSelector)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return k, nil
}

// sendLogger is slog on stderr: text on a terminal, JSON otherwise,
// unless --log-format says.
func (a *App) sendLogger() (*slog.Logger, error) {
	format := a.cfg.LogFormat
	if format == "" {
		format = "json"
		if a.stderrIsTerminal() {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(a.Stderr, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.Stderr, nil)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

func (a *App) stderrIsTerminal() bool {
	f, ok := a.Stderr.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// engineTuning reads the delivery engine's tuning variables (TIDINGS_SEND_*,
// TIDINGS_BOUNCE_LIMIT, TIDINGS_SOFT_BOUNCES…). They are environment-only because they are set
// once per installation (a relay's limits, a slow network), not per send;
// `tidings send --help` and the README list them.
func (a *App) engineTuning(cfg *mailer.Config) error {
	dur := func(name string, dst *time.Duration) error {
		if v := strings.TrimSpace(a.Getenv(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return usagef("%s=%q: want a duration like 30s", name, v)
			}
			*dst = d
		}
		return nil
	}
	num := func(name string, dst *int) error {
		if v := strings.TrimSpace(a.Getenv(name)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return usagef("%s=%q: want a whole number ≥ 1", name, v)
			}
			*dst = n
		}
		return nil
	}
	return firstErr(
		dur("TIDINGS_SEND_LEASE", &cfg.LeaseTTL),
		dur("TIDINGS_SEND_BACKOFF", &cfg.Backoff),
		dur("TIDINGS_SEND_POLL", &cfg.Poll),
		dur("TIDINGS_SEND_TIMEOUT", &cfg.Timeouts.Command),
		dur("TIDINGS_SEND_DIAL_TIMEOUT", &cfg.Timeouts.Dial),
		dur("TIDINGS_SEND_DATA_TIMEOUT", &cfg.Timeouts.Data),
		dur("TIDINGS_SEND_COOLDOWN", &cfg.Cooldown),
		dur("TIDINGS_SEND_COMMIT_DELAY", &cfg.CommitDelay),
		num("TIDINGS_SEND_ATTEMPTS", &cfg.MaxAttempts),
		num("TIDINGS_SEND_PER_CONN", &cfg.MessagesPerConn),
		num("TIDINGS_BOUNCE_LIMIT", &cfg.BounceLimit),
		num("TIDINGS_SOFT_BOUNCES", &cfg.SoftLimit),
		dur("TIDINGS_SOFT_BOUNCE_WINDOW", &cfg.SoftWindow),
	)
}

// sendConfig is the configuration the engine and the one-off sender
// share: relays, DKIM key, logger, timeouts and the other tuning.
func (a *App) sendConfig() (mailer.Config, error) {
	relays, err := a.relays()
	if err != nil {
		return mailer.Config{}, err
	}
	k, err := a.dkim()
	if err != nil {
		return mailer.Config{}, err
	}
	log, err := a.sendLogger()
	if err != nil {
		return mailer.Config{}, err
	}
	cfg := mailer.Config{
		Relays: relays, Concurrency: a.cfg.Concurrency, Rate: a.cfg.Rate, DKIM: k,
		Now: a.Now, Logger: log,
	}
	if err := a.engineTuning(&cfg); err != nil {
		return mailer.Config{}, err
	}
	// In serve, --hard-bounces is the one threshold for bounces seen at
	// send time and bounces that come back by mail; a reader must not be
	// judged by two different counts.
	if a.inbound != nil && a.inbound.flags.Changed("hard-bounces") {
		cfg.BounceLimit = a.inbound.hardBounces
	}
	if a.inbound != nil {
		// --soft-bounces/--soft-bounce-window likewise (their defaults are
		// package bounce's, which the engine applies without serve).
		cfg.SoftLimit, cfg.SoftWindow = a.inbound.softBounces, a.inbound.softWindow
	}
	return cfg, nil
}

// newEngine builds the delivery engine from the configuration; serve and
// demo use it too.
func (a *App) newEngine(ctx context.Context) (*mailer.Engine, error) {
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := a.sendConfig()
	if err != nil {
		return nil, err
	}
	deps := mailer.Deps{
		DB:         d,
		Campaigns:  ops.Campaigns(d, tidings.Links{Base: a.cfg.BaseURL}, a.Now),
		Recipients: subscribers.NewStore(d),
	}
	return mailer.New(cfg, deps), nil
}

// newMailSender is the one-off sender for transactional mail
// (confirmations, replies to inbound mail), with the same relays, DKIM
// key and timeouts as the engine.
func (a *App) newMailSender(ctx context.Context) (*mailer.OneOff, error) {
	cfg, err := a.sendConfig()
	if err != nil {
		return nil, err
	}
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	return mailer.NewOneOff(cfg.Relays, mailer.OneOffOptions{Timeouts: cfg.Timeouts, DKIM: cfg.DKIM, Logger: cfg.Logger,
		ListKey: func(ctx context.Context, domain string) (*mailer.DKIM, error) { return listKeyOf(ctx, d, domain) }}), nil
}

func newSendCmd(a *App) *cobra.Command {
	var dry, retry, asJSON bool
	var testTo, as string
	c := &cobra.Command{
		Use:   "send ID",
		Short: "Send an issue to every confirmed subscriber now, and wait",
		Long: `Send an issue to every confirmed subscriber of its list, each with only the
articles of their topics. The recipient set is fixed when the send starts;
a send that was interrupted, killed or paused resumes where it stopped when
you run the same command again.

Ctrl-C finishes the messages in flight, leaves the rest pending and exits
with status 1; run 'tidings send ID' again to resume.

Tuning (environment only; durations like 30s, 2m):
  TIDINGS_SEND_ATTEMPTS       tries for a temporary failure (default 5)
  TIDINGS_SEND_BACKOFF        wait before the first retry, doubled each time
                              with ±25% jitter, at most 1h (default 1m)
  TIDINGS_BOUNCE_LIMIT        hard bounces that mark a subscriber bounced (default 1)
  TIDINGS_SOFT_BOUNCES        soft bounces within the window that do (default 3)
  TIDINGS_SOFT_BOUNCE_WINDOW  that window (default 720h); serve's inbound mail
                              counts with the same variables
  TIDINGS_SEND_PER_CONN       messages per SMTP connection before reconnecting (default 500)
  TIDINGS_SEND_DIAL_TIMEOUT   connect and TLS handshake (default 15s)
  TIDINGS_SEND_TIMEOUT        each SMTP command's reply (default 1m)
  TIDINGS_SEND_DATA_TIMEOUT   sending a message and its final reply (default 5m)
  TIDINGS_SEND_COOLDOWN       how long a relay that failed 3 connections in a row
                              stays out of service (default 1m)
  TIDINGS_SEND_LEASE          claim lease on delivery rows, renewed while held (default 1m)
  TIDINGS_SEND_POLL           wait between looks at the delivery log when idle (default 1s)
  TIDINGS_SEND_COMMIT_DELAY   how long a log commit waits for other connections'
                              changes (default 200us)
  TIDINGS_CPUPROFILE          write a CPU profile of the send to this file`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseIssueID(args[0])
			if err != nil {
				return err
			}
			if as != "" && testTo == "" {
				return usagef("send: --as needs --test-to")
			}
			if testTo != "" && (dry || retry) {
				return usagef("send: --test-to cannot be combined with --dry-run or --retry-failed")
			}
			ctx := cmd.Context()
			if testTo == "" && !dry && len(a.cfg.SMTPURLs) == 0 {
				return usagef("send: no SMTP relay: set --smtp-url or TIDINGS_SMTP_URL (e.g. smtp://user:pass@mail.example.org:587)")
			}
			if testTo != "" && len(a.cfg.SMTPURLs) == 0 {
				return usagef("send: no SMTP relay: set --smtp-url or TIDINGS_SMTP_URL")
			}
			e, err := a.newEngine(ctx)
			if err != nil {
				return err
			}
			if !dry {
				if err := a.checkBaseURL("send"); err != nil {
					return err
				}
			}
			switch {
			case dry:
				return a.dryRun(ctx, e, id, asJSON)
			case testTo != "":
				return a.testSend(ctx, id, testTo, as)
			}
			return a.send(ctx, e, id, retry, asJSON)
		},
	}
	c.Flags().BoolVar(&dry, "dry-run", false, "render every message and count them per topic combination; send nothing")
	c.Flags().StringVar(&testTo, "test-to", "", "send one test copy to this address instead (not logged)")
	c.Flags().StringVar(&as, "as", "", "with --test-to: compose the copy as this subscriber would get it")
	c.Flags().BoolVar(&retry, "retry-failed", false, "send again to recipients whose delivery failed temporarily or for a server-side reason")
	jsonFlag(c, &asJSON)
	return c
}

func (a *App) dryRun(ctx context.Context, e *mailer.Engine, id int64, asJSON bool) error {
	rep, err := e.DryRun(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return a.printJSON(map[string]any{
			"issue": rep.IssueID, "recipients": rep.Recipients, "messages": rep.Messages,
			"skipped": rep.Skipped, "bytes": rep.Bytes, "combinations": rep.Combinations,
		})
	}
	fmt.Fprintf(a.Stdout, "issue %d (dry run): %d messages would be sent, %d skipped (no article for their topics), %d confirmed subscribers, %.1f KB average\n",
		rep.IssueID, rep.Messages, rep.Skipped, rep.Recipients, avgKB(rep.Bytes, rep.Messages))
	fmt.Fprintf(a.Stdout, "%-40s %8s %10s\n", "TOPICS", "ARTICLES", "RECIPIENTS")
	for _, c := range rep.Combinations {
		k := c.Key
		if k == "" {
			k = "(none)"
		}
		fmt.Fprintf(a.Stdout, "%-40s %8d %10d\n", k, c.Articles, c.Recipients)
	}
	return nil
}

func avgKB(b int64, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(b) / float64(n) / 1024
}

// testSend sends one copy to addr, as subscriber asEmail would get it
// (or as a reader of every topic), through the operations layer.
func (a *App) testSend(ctx context.Context, id int64, addr, asEmail string) error {
	svc, err := a.ops(ctx)
	if err != nil {
		return err
	}
	ids, err := svc.SendTest(ctx, ops.CLI(), id, []string{addr}, asEmail)
	var fe *ops.FieldError
	switch {
	case errors.As(err, &fe) && fe.Field == "to":
		return usagef("send --test-to: %s", fe.Problem)
	case errors.As(err, &fe) && fe.Field == "as":
		return fmt.Errorf("send --as %s: %s", asEmail, fe.Problem)
	case err != nil:
		return err
	}
	to, _ := tidings.ParseEmail(addr) // valid: SendTest took it
	fmt.Fprintf(a.Stdout, "sent a test copy of issue %d to %s (%s)\n", id, to.Addr, ids[0])
	return nil
}

func (a *App) send(ctx context.Context, e *mailer.Engine, id int64, retry, asJSON bool) error {
	// TIDINGS_CPUPROFILE=FILE writes a CPU profile of the send (diagnostics).
	if path := a.Getenv("TIDINGS_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	// The send runs here, not through the daemon: record who ran it.
	svc, err := a.ops(ctx)
	if err != nil {
		return err
	}
	if err := svc.RunSend(ctx, ops.CLI(), id, retry); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	progress, done := a.progress(id)
	// AdoptSettings: the operator's command decides how the rest of the
	// send goes out, unless another process is sending it right now.
	rep, err := e.Send(ctx, id, mailer.SendOptions{RetryFailed: retry, Progress: progress, AdoptSettings: true})
	done()
	switch {
	case errors.Is(err, mailer.ErrPaused):
		return fmt.Errorf("send of issue %d paused: %s; %d pending; fix the cause and run 'tidings send %d' to resume", id, rep.Reason, rep.Pending, id)
	case errors.Is(err, mailer.ErrInterrupted):
		return fmt.Errorf("interrupted: %d pending; run 'tidings send %d' to resume", rep.Pending, id)
	case err != nil:
		return err
	}
	if asJSON {
		d, err := a.DB(ctx)
		if err != nil {
			return err
		}
		bc, err := inbound.CountIssue(ctx, d, id)
		if err != nil {
			return err
		}
		return a.printJSON(statusJSON{Issue: id, Counts: rep.Counts, State: "done", Failures: []mailer.Failure{}, Bounces: bc})
	}
	fmt.Fprintf(a.Stdout, "issue %d: %d sent, %d failed, %d bounced, %d skipped (%d recipients)\n",
		id, rep.Sent, rep.Failed, rep.Bounced, rep.Skipped, rep.Total)
	if rep.Failed+rep.Bounced > 0 {
		fmt.Fprintf(a.Stdout, "see 'tidings status %d' for the failures; 'tidings send %d --retry-failed' retries the temporary ones\n", id, id)
	}
	return nil
}

// progress shows a bar with rate and ETA on a terminal, and a log line
// every few seconds otherwise.
func (a *App) progress(id int64) (func(mailer.Counts), func()) {
	if a.stderrIsTerminal() {
		var bar *progressbar.ProgressBar
		return func(c mailer.Counts) {
				if bar == nil {
					bar = progressbar.NewOptions(c.Total,
						progressbar.OptionSetWriter(a.Stderr),
						progressbar.OptionSetDescription(fmt.Sprintf("issue %d", id)),
						progressbar.OptionShowCount(),
						progressbar.OptionShowIts(),
						progressbar.OptionSetItsString("msg"),
						progressbar.OptionSetPredictTime(true),
						progressbar.OptionThrottle(200*time.Millisecond),
						progressbar.OptionClearOnFinish())
				}
				bar.Set(c.Done())
			}, func() {
				if bar != nil {
					bar.Finish()
				}
			}
	}
	log, err := a.sendLogger()
	if err != nil {
		log = slog.New(slog.NewTextHandler(a.Stderr, nil))
	}
	var last time.Time
	start := time.Now()
	return func(c mailer.Counts) {
		if time.Since(last) < 5*time.Second {
			return
		}
		last = time.Now()
		log.Info("progress", "issue", id, "done", c.Done(), "total", c.Total, "sent", c.Sent, "failed", c.Failed,
			"pending", c.Pending, "elapsed", time.Since(start).Round(time.Second).String())
	}, func() {}
}
