package main

// Inbound mail in `tidings serve`: the SMTP listener for the lists' own
// addresses (--smtp-listen) and the bounce mailbox poller
// (--bounce-mailbox). Both feed one inbound.Processor wired here with the
// real subscribers store, the web form's double opt-in and confirmation
// mail, and the one-off sender.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

var (
	_ inbound.Directory  = (*subscribers.Store)(nil)
	_ inbound.MailSender = (*mailer.OneOff)(nil)
)

// inboundOptions are serve's inbound flags.
type inboundOptions struct {
	flags        *pflag.FlagSet
	listen       string
	cert, key    string
	domain       string
	maxConns     int
	maxBytes     int64
	maxRcpts     int
	mailbox      string
	pollEvery    time.Duration
	hardBounces  int
	softBounces  int
	softWindow   time.Duration
	repliesPerHr int
}

// inboundFlags declares the inbound flags on serve.
func (a *App) inboundFlags(c *cobra.Command) {
	f := c.Flags()
	o := &inboundOptions{flags: f}
	a.inbound = o
	f.StringVar(&o.listen, "smtp-listen", "", "accept bounces, complaints and list mail over SMTP on ADDR, e.g. :25 (env TIDINGS_SMTP_LISTEN; off by default)")
	f.StringVar(&o.cert, "smtp-listen-cert", "", "PEM certificate for STARTTLS on --smtp-listen (env TIDINGS_SMTP_LISTEN_CERT)")
	f.StringVar(&o.key, "smtp-listen-key", "", "PEM private key for STARTTLS on --smtp-listen (env TIDINGS_SMTP_LISTEN_KEY)")
	f.StringVar(&o.domain, "smtp-listen-domain", "", "host name in the SMTP greeting (default: the host of --base-url)")
	f.IntVar(&o.maxConns, "smtp-listen-max-conns", 20, "concurrent inbound SMTP connections at most")
	f.Int64Var(&o.maxBytes, "smtp-listen-max-size", 10<<20, "largest inbound message in bytes (a bounce carries the bounced message)")
	f.IntVar(&o.maxRcpts, "smtp-listen-max-rcpts", 10, "recipients per inbound message at most")
	f.StringVar(&o.mailbox, "bounce-mailbox", "", "poll this POP3 mailbox for bounces: pop3s://user:pass@host[:port] (env TIDINGS_BOUNCE_MAILBOX)")
	f.DurationVar(&o.pollEvery, "bounce-poll", time.Minute, "how often to poll --bounce-mailbox (env TIDINGS_BOUNCE_POLL)")
	f.IntVar(&o.hardBounces, "hard-bounces", inbound.DefaultRules.HardLimit, "hard bounces before a reader is marked bounced, at send time and by mail (env TIDINGS_BOUNCE_LIMIT)")
	f.IntVar(&o.softBounces, "soft-bounces", inbound.DefaultRules.SoftLimit, "soft bounces within --soft-bounce-window before a reader is marked bounced, at send time and by mail (env TIDINGS_SOFT_BOUNCES)")
	f.DurationVar(&o.softWindow, "soft-bounce-window", inbound.DefaultRules.SoftWindow, "window for counting soft bounces (env TIDINGS_SOFT_BOUNCE_WINDOW)")
	f.IntVar(&o.repliesPerHr, "inbound-replies-per-hour", 3, "answers to subscribe/unsubscribe mail per address and hour at most")
}

// resolve applies the TIDINGS_* variables of flags that were not given.
func (o *inboundOptions) resolve(getenv func(string) string) error {
	env := func(flag, name string, apply func(string) error) error {
		if fl := o.flags.Lookup(flag); fl != nil && fl.Changed {
			return nil
		}
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return nil
		}
		if err := apply(v); err != nil {
			return usagef("%s=%q: %v", name, v, err)
		}
		return nil
	}
	str := func(dst *string) func(string) error { return func(v string) error { *dst = v; return nil } }
	if err := firstErr(
		env("smtp-listen", "TIDINGS_SMTP_LISTEN", str(&o.listen)),
		env("smtp-listen-cert", "TIDINGS_SMTP_LISTEN_CERT", str(&o.cert)),
		env("smtp-listen-key", "TIDINGS_SMTP_LISTEN_KEY", str(&o.key)),
		env("bounce-mailbox", "TIDINGS_BOUNCE_MAILBOX", str(&o.mailbox)),
		// The same variable the delivery engine reads, so both count alike.
		env("hard-bounces", "TIDINGS_BOUNCE_LIMIT", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a whole number ≥ 1")
			}
			o.hardBounces = n
			return nil
		}),
		env("soft-bounces", "TIDINGS_SOFT_BOUNCES", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a whole number ≥ 1")
			}
			o.softBounces = n
			return nil
		}),
		env("soft-bounce-window", "TIDINGS_SOFT_BOUNCE_WINDOW", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("want a positive duration like 720h")
			}
			o.softWindow = d
			return nil
		}),
		env("bounce-poll", "TIDINGS_BOUNCE_POLL", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("want a duration like 1m")
			}
			o.pollEvery = d
			return nil
		}),
	); err != nil {
		return err
	}
	switch {
	case (o.cert == "") != (o.key == ""):
		return usagef("serve: --smtp-listen-cert and --smtp-listen-key go together")
	case o.pollEvery < time.Second:
		return usagef("serve: --bounce-poll %s: want at least 1s", o.pollEvery)
	case o.hardBounces < 1 || o.softBounces < 1:
		return usagef("serve: --hard-bounces and --soft-bounces: want a number ≥ 1")
	case o.softWindow <= 0:
		return usagef("serve: --soft-bounce-window %s: want a positive duration like 720h", o.softWindow)
	case o.repliesPerHr < 1:
		return usagef("serve: --inbound-replies-per-hour: want a number ≥ 1")
	case o.maxConns < 1:
		return usagef("serve: --smtp-listen-max-conns: want a number ≥ 1")
	case o.maxBytes < 1024:
		return usagef("serve: --smtp-listen-max-size %d: want at least 1024 bytes", o.maxBytes)
	case o.maxRcpts < 1:
		return usagef("serve: --smtp-listen-max-rcpts: want a number ≥ 1")
	}
	return nil
}

// startInbound starts the inbound listener and the mailbox poller as
// configured; with neither configured it starts nothing.
func (a *App) startInbound(ctx context.Context, d *db.DB, log *slog.Logger) (stop func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	o := a.inbound
	if o == nil {
		return noop, nil // demo: no inbound flags
	}
	if err := o.resolve(a.Getenv); err != nil {
		return nil, err
	}
	if o.listen == "" && o.mailbox == "" {
		return noop, nil
	}
	log = log.With("component", "inbound")
	proc, err := a.newInboundProcessor(ctx, d, o, log)
	if err != nil {
		return nil, err
	}
	var mb inbound.Mailbox
	if o.mailbox != "" {
		if mb, err = inbound.ParseMailbox(o.mailbox); err != nil {
			return nil, usagef("serve: --bounce-mailbox: %v", err)
		}
	}

	// Sessions and polls finish on their own context, so that shutdown
	// can let a message in DATA commit instead of cutting it.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var srv *inbound.Server
	if o.listen != "" {
		scfg := inbound.ServerConfig{Processor: proc, Domain: o.domain, MaxConns: o.maxConns,
			MaxMessageBytes: o.maxBytes, MaxRecipients: o.maxRcpts, Logger: log}
		if scfg.Domain == "" {
			if u, err := url.Parse(a.cfg.BaseURL); err == nil && u.Hostname() != "" {
				scfg.Domain = u.Hostname()
			}
		}
		if o.cert != "" {
			if scfg.TLS, err = inbound.LoadTLS(o.cert, o.key); err != nil {
				cancel()
				return nil, err
			}
		}
		if srv, err = inbound.NewServer(scfg); err != nil {
			cancel()
			return nil, err
		}
		ln, err := net.Listen("tcp", o.listen)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listen on %s (--smtp-listen): %w", o.listen, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(runCtx, ln); err != nil {
				log.Error("inbound smtp stopped", "err", err)
			}
		}()
		log.Info("inbound smtp listening", "addr", ln.Addr().String(), "starttls", scfg.TLS != nil)
	}
	if o.mailbox != "" {
		p, err := inbound.NewPoller(inbound.PollerConfig{Processor: proc, Mailbox: mb, Interval: o.pollEvery, Logger: log})
		if err != nil {
			cancel()
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(runCtx)
		}()
		log.Info("polling bounce mailbox", "mailbox", mb.String(), "every", o.pollEvery)
	}
	return func(sctx context.Context) error {
		var errs []error
		if srv != nil {
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
		}
		cancel() // drops sessions still open and ends the poller
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
			errs = append(errs, fmt.Errorf("inbound did not stop in time"))
		}
		return errors.Join(errs...)
	}, nil
}

// newInboundProcessor wires the Processor with the real stores.
func (a *App) newInboundProcessor(ctx context.Context, d *db.DB, o *inboundOptions, log *slog.Logger) (*inbound.Processor, error) {
	secret, err := d.Secret(ctx)
	if err != nil {
		return nil, err
	}
	signer := token.New(secret)
	signer.Now = a.Now
	sender, err := a.newMailSender(ctx)
	if err != nil {
		return nil, err
	}
	store := subscribers.NewStore(d)
	return inbound.New(inbound.Config{
		DB: d, Signer: signer, Directory: store,
		Confirmer:  ops.NewConfirmer(d, &render.Renderer{Links: tidings.Links{Base: a.cfg.BaseURL}, Signer: signer, Now: a.Now}),
		Sender:     sender,
		Rules:      inbound.Rules{HardLimit: o.hardBounces, SoftLimit: o.softBounces, SoftWindow: o.softWindow},
		ReplyLimit: o.repliesPerHr, ReplyWindow: time.Hour,
		Now: a.Now, Logger: log,
	})
}
