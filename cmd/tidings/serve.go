package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/smtpsink"
)

// The engine satisfies what the scheduler needs through engineSender.
var _ schedule.Sender = engineSender{}

// engineSender adapts the delivery engine to schedule.Sender.
type engineSender struct{ e *mailer.Engine }

func (s engineSender) Send(ctx context.Context, issueID int64) error {
	_, err := s.e.Send(ctx, issueID, mailer.SendOptions{})
	if errors.Is(err, mailer.ErrSettingsDiffer) {
		return fmt.Errorf("%w: %w", schedule.ErrNotOurs, err)
	}
	return err
}

// daemonOptions are what serve and demo vary in the one daemon code path.
type daemonOptions struct {
	grace           time.Duration
	shutdownTimeout time.Duration
	outbox          string // write .eml files to this directory instead of relaying
	// listener, when set, is used instead of listening on --http (demo).
	listener net.Listener
	// adminListener, when set, serves the console and the API instead of
	// a listener on --admin-http.
	adminListener net.Listener
	// routes adds handlers beside the reader pages (demo: /outbox).
	routes func(mux *http.ServeMux)
	// afterSend is told about every send the scheduler finishes (demo --once).
	afterSend func(issueID int64, status string, err error)
	// started is called once everything runs, with the HTTP address.
	started func(addr string)
}

func newServeCmd(a *App) *cobra.Command {
	o := daemonOptions{}
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: schedules, sending and the reader web pages, until SIGINT/SIGTERM",
		Long: `serve runs the scheduler (one-off and recurring schedules, catch-up of runs
missed while down, resumption of interrupted sends), the sender and the
reader web pages with GET /healthz and GET /metrics (Prometheus).

The console (/admin/) and the JSON API (/api/v1/) listen on --admin-http
(default 127.0.0.1:8081), apart from the reader pages; when it names the
same address as --http, one listener serves both. Sign-in links point at
--admin-url (default http:// + --admin-http).

Several serve processes may share one database: one holds the sender lease
and sends, the others wait and take over within seconds of its death.

On SIGINT or SIGTERM it starts no new work, lets SMTP transactions in
flight finish (at most --shutdown-timeout), records everything and exits 0.
A second signal stops the wait (exit 1); what was cut short resumes at the
next start.

It needs --smtp-url and --base-url (or TIDINGS_SMTP_URL, TIDINGS_BASE_URL),
unless --outbox DIR is given: then every message is written to DIR as an
.eml file and nothing is sent.

Reader pages, environment only:
  TIDINGS_CORS_ORIGINS="https://www.example.org ..."  origins allowed to post
                       the subscribe form as JSON from another site
  TIDINGS_TRUST_PROXY=1  behind a reverse proxy: rate limits use the last
                       X-Forwarded-For address`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, e := range []struct {
				flag, env string
				dst       *time.Duration
			}{{"grace", "TIDINGS_GRACE", &o.grace}, {"shutdown-timeout", "TIDINGS_SHUTDOWN_TIMEOUT", &o.shutdownTimeout}} {
				v := strings.TrimSpace(a.Getenv(e.env))
				if cmd.Flags().Changed(e.flag) || v == "" {
					continue
				}
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return usagef("%s=%q: want a positive duration such as 24h or 30s", e.env, v)
				}
				*e.dst = d
			}
			if o.grace <= 0 || o.shutdownTimeout <= 0 {
				return usagef("serve: --grace and --shutdown-timeout must be positive durations")
			}
			return a.runDaemon(cmd.Context(), o)
		},
	}
	c.Flags().DurationVar(&o.grace, "grace", schedule.DefaultGrace, "catch-up window: a run missed while down happens at start when less late than this (env TIDINGS_GRACE)")
	c.Flags().DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "at shutdown, how long to wait for messages in flight (env TIDINGS_SHUTDOWN_TIMEOUT)")
	c.Flags().StringVar(&o.outbox, "outbox", "", "write each message as an .eml file in DIR instead of sending (testing; logged loudly)")
	a.inboundFlags(c)
	return c
}

// checkDaemonConfig refuses to start without a usable relay and base URL.
func (a *App) checkDaemonConfig() error {
	if len(a.cfg.SMTPURLs) == 0 {
		return usagef("serve: no SMTP relay: set --smtp-url or TIDINGS_SMTP_URL (e.g. smtp://user:pass@mail.example.org:587), or give --outbox DIR to write .eml files instead")
	}
	if _, err := mailer.ParseRelayURLs(a.cfg.SMTPURLs); err != nil {
		return usagef("serve: %v", err)
	}
	return a.checkBaseURL("serve")
}

// runDaemon is the daemon: serve runs it as configured, demo with a
// capturing SMTP server and extra pages. It returns nil after a graceful
// shutdown when ctx is cancelled.
func (a *App) runDaemon(ctx context.Context, o daemonOptions) error {
	// The same logger as the engine's and the web server's (send.go), so
	// every line of the daemon has one format and one destination.
	log, err := a.sendLogger()
	if err != nil {
		return err
	}
	if o.grace <= 0 {
		o.grace = schedule.DefaultGrace
	}
	if o.shutdownTimeout <= 0 {
		o.shutdownTimeout = 30 * time.Second
	}
	listen := func() (net.Listener, error) {
		if o.listener != nil {
			return o.listener, nil
		}
		l, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("serve: listen on %s (--http): %w", a.cfg.HTTPAddr, err)
		}
		return l, nil
	}
	var ln net.Listener
	if o.outbox != "" {
		// The base URL defaults to the listening address: listen first.
		if ln, err = listen(); err != nil {
			return err
		}
		sink, err := startOutbox(o.outbox, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer sink.Close()
		a.cfg.SMTPURLs = []string{"smtp://" + sink.Addr + "?tls=none"}
		if a.cfg.BaseURL == "" {
			a.cfg.BaseURL = "http://" + ln.Addr().String()
		}
		log.Warn("OUTBOX MODE: nothing is sent; every message is written to a file instead", "dir", o.outbox)
	}
	if err := a.checkDaemonConfig(); err != nil {
		if ln == nil {
			ln = o.listener
		}
		if ln != nil {
			ln.Close()
		}
		return err
	}
	if ln == nil {
		if ln, err = listen(); err != nil {
			return err
		}
	}
	defer ln.Close()

	d, err := a.DB(ctx)
	if err != nil {
		return err
	}
	svc, err := a.ops(ctx)
	if err != nil {
		return err
	}
	// Imports and exports a dead process left running are marked failed,
	// so the console does not show them running for ever.
	if err := svc.RecoverJobs(ctx); err != nil {
		log.Warn("recovering import and export jobs failed", "err", err)
	}
	eng, err := a.newEngine(ctx)
	if err != nil {
		return err
	}
	webh, err := a.newWebServer(ctx)
	if err != nil {
		return err
	}
	metrics := schedule.NewMetrics(d)
	sched := schedule.New(schedule.Config{
		DB: d, Sender: engineSender{eng}, Now: a.Now, Grace: o.grace,
		Logger: log, Metrics: metrics, AfterSend: o.afterSend,
	})

	mux := http.NewServeMux()
	mux.Handle("/", webh)
	stopTrack, err := a.startTracker(ctx, d, log, a.cfg.ScanWindow, metrics.Registry, mux) // /c/ and /o/; writes held events at exit
	if err != nil {
		return err
	}
	defer stopTrack()
	var stopping atomic.Bool
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		role := "standby"
		if sched.Leader() {
			role = "sender"
		}
		if err := d.R.PingContext(r.Context()); err != nil || stopping.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"status":"unavailable","role":%q}`+"\n", role)
			return
		}
		fmt.Fprintf(w, `{"status":"ok","role":%q}`+"\n", role)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{Registry: metrics.Registry}))
	if o.routes != nil {
		o.routes(mux)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // slow bodies must not hold connections
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}

	adminSrv, adminLn, err := a.adminServer(ctx, o, mux, srv, log)
	if err != nil {
		return err
	}
	if adminLn != nil {
		defer adminLn.Close()
	}

	stopInbound, err := a.startInbound(ctx, d, log)
	if err != nil {
		return fmt.Errorf("serve: inbound: %w", err)
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	if adminSrv != nil {
		go func() { serveErr <- adminSrv.Serve(adminLn) }()
	}
	schedCtx, cancelSched := context.WithCancel(ctx)
	defer cancelSched()
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(schedCtx) }()

	relays, _ := mailer.ParseRelayURLs(a.cfg.SMTPURLs)
	relayNames := make([]string, len(relays))
	for i, r := range relays {
		relayNames[i] = r.Redacted()
	}
	if u, err := url.Parse(a.cfg.BaseURL); err == nil && u.Scheme != "https" && !loopbackHost(u.Hostname()) {
		// Mail still works, but mailbox providers ignore an http one-click
		// unsubscribe (RFC 8058) and readers' browsers warn on the forms.
		log.Warn("base URL is not https: Gmail and Yahoo require https for one-click unsubscribe", "base_url", a.cfg.BaseURL)
	}
	log.Info("tidings serving", "http", ln.Addr().String(), "base_url", a.cfg.BaseURL, "db", d.Path,
		"relays", relayNames, "grace", o.grace, "owner", sched.Owner())
	if o.started != nil {
		o.started(ln.Addr().String())
	}

	var errs []error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new sends; waiting for messages in flight", "timeout", o.shutdownTimeout)
	case err := <-serveErr:
		errs = append(errs, fmt.Errorf("serve: http: %w", err))
		serveErr <- nil
	case err := <-schedDone:
		errs = append(errs, fmt.Errorf("serve: scheduler stopped: %w", err))
		schedDone <- nil
	}
	stopping.Store(true)
	cancelSched()
	// main turned the first SIGINT/SIGTERM into ctx; a second one while
	// messages in flight finish (Ctrl-C pressed again) stops waiting.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	deadline := time.Now().Add(o.shutdownTimeout)
	timer := time.NewTimer(o.shutdownTimeout)
	defer timer.Stop()
	select {
	case err := <-schedDone:
		if err != nil {
			errs = append(errs, fmt.Errorf("serve: scheduler: %w", err))
		}
	case <-timer.C:
		errs = append(errs, fmt.Errorf("serve: a send was still running after %s (--shutdown-timeout); its unfinished deliveries resume at the next start", o.shutdownTimeout))
	case sig := <-again:
		errs = append(errs, fmt.Errorf("serve: second %v: stopped without waiting for the messages in flight; unfinished deliveries resume at the next start", sig))
		deadline = time.Now() // the rest gets the short grace below, not what is left of the timeout
	}
	hctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), later(deadline, time.Now().Add(5*time.Second)))
	defer cancel()
	if err := srv.Shutdown(hctx); err != nil {
		errs = append(errs, fmt.Errorf("serve: http shutdown: %w", err))
	}
	if adminSrv != nil {
		if err := adminSrv.Shutdown(hctx); err != nil {
			errs = append(errs, fmt.Errorf("serve: admin http shutdown: %w", err))
		}
	}
	// Confirmation mails go out in the background so every answer to the
	// form looks alike; let the ones in flight finish before exiting.
	if err := webh.Shutdown(hctx); err != nil {
		errs = append(errs, fmt.Errorf("serve: confirmation mails in flight: %w", err))
	}
	if err := stopInbound(hctx); err != nil {
		errs = append(errs, fmt.Errorf("serve: inbound shutdown: %w", err))
	}
	// Imports and exports started from the console finish before exit;
	// one cut short is marked failed at the next start.
	jobsDone := make(chan struct{})
	go func() { svc.WaitJobs(); close(jobsDone) }()
	select {
	case <-jobsDone:
	case <-hctx.Done():
		errs = append(errs, fmt.Errorf("serve: an import or export was still running at shutdown; it is marked failed at the next start"))
	}
	if err := d.CheckpointPassive(hctx); err != nil {
		log.Warn("checkpoint at shutdown failed", "err", err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	log.Info("stopped cleanly")
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9@._+-]+`)

// startOutbox is the --outbox transport: a loopback SMTP server that the
// engine relays to like any other, which writes each message to dir as
// an .eml file (written to a temporary name, then renamed, so a reader of
// the directory never sees half a message). The engine stays unaware.
func startOutbox(dir string, log *slog.Logger) (*smtpsink.Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dir, err)
	}
	var n atomic.Int64
	return smtpsink.Start(smtpsink.Options{
		Addr:    "127.0.0.1:0",
		Domain:  "outbox.localhost",
		Discard: true,
		OnData: func(from string, to []string, data []byte) error {
			rcpt := "unknown"
			if len(to) > 0 {
				rcpt = to[0]
			}
			name := fmt.Sprintf("%s-%06d-%s.eml", time.Now().UTC().Format("20060102T150405"), n.Add(1), unsafeName.ReplaceAllString(rcpt, "_"))
			tmp := filepath.Join(dir, "."+name+".tmp")
			if err := os.WriteFile(tmp, data, 0o644); err != nil {
				log.Error("outbox: write failed", "file", tmp, "err", err)
				return smtpsink.Reply(451, "4.3.0", "outbox write failed")
			}
			if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
				log.Error("outbox: rename failed", "file", name, "err", err)
				return smtpsink.Reply(451, "4.3.0", "outbox write failed")
			}
			return nil
		},
	})
}

// loopbackHost reports whether host names this machine (a local test or
// the demo), where plain http is expected.
func loopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
