package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Config is the resolved configuration: a flag that was set wins over its
// TIDINGS_* variable, which wins over the default (CONTRACT.md).
type Config struct {
	DBPath       string
	SMTPURLs     []string
	BaseURL      string
	HTTPAddr     string
	AdminHTTP    string // --admin-http: console and API listener
	AdminURL     string // --admin-url: the console's public URL, for sign-in links
	Concurrency  int
	Rate         float64
	DKIMKey      string
	DKIMSelector string
	LogFormat    string

	// ScanWindow (--scan-window): clicks and opens this soon after
	// delivery are machines' (package track).
	ScanWindow time.Duration
}

// bindGlobalFlags declares the configuration flags on root and resolves
// them against the environment before any subcommand runs.
func (a *App) bindGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.cfg.DBPath, "db", "tidings.db", "database file (env TIDINGS_DB)")
	f.StringArrayVar(&a.cfg.SMTPURLs, "smtp-url", nil, "SMTP relay URL, repeatable (env TIDINGS_SMTP_URL, space-separated)")
	f.StringVar(&a.cfg.BaseURL, "base-url", "", "public URL of the web server, used in links in mail (env TIDINGS_BASE_URL)")
	f.StringVar(&a.cfg.HTTPAddr, "http", "127.0.0.1:8080", "address serve listens on (env TIDINGS_HTTP)")
	f.DurationVar(&a.cfg.ScanWindow, "scan-window", 15*time.Second, "a click or open this soon after its message was delivered counts as a machine's (env TIDINGS_SCAN_WINDOW)")
	f.StringVar(&a.cfg.AdminHTTP, "admin-http", "127.0.0.1:8081", "address serve serves the console (/admin/) and the API (/api/v1/) on; may equal --http (env TIDINGS_ADMIN_HTTP)")
	f.StringVar(&a.cfg.AdminURL, "admin-url", "", "public URL of the console, for sign-in links (env TIDINGS_ADMIN_URL; default --base-url when --admin-http equals --http, else http:// + --admin-http)")
	f.IntVar(&a.cfg.Concurrency, "concurrency", 4, "SMTP connections in parallel (env TIDINGS_CONCURRENCY)")
	f.Float64Var(&a.cfg.Rate, "rate", 0, "messages per second at most, 0 = no limit (env TIDINGS_RATE)")
	f.StringVar(&a.cfg.DKIMKey, "dkim-key", "", "PEM private key for DKIM signing (env TIDINGS_DKIM_KEY)")
	f.StringVar(&a.cfg.DKIMSelector, "dkim-selector", "", "DKIM selector (env TIDINGS_DKIM_SELECTOR)")
	f.StringVar(&a.cfg.LogFormat, "log-format", "", "text or json (env TIDINGS_LOG_FORMAT; default text on a terminal, json otherwise)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := a.resolveEnv(cmd.Flags()); err != nil {
			return err
		}
		return a.cfg.check()
	}
}

// check refuses values no source may give: the environment's are checked
// as they are read, and a flag must not slip past what the variable may
// not say (the mailer would quietly read --concurrency 0 as its default).
func (c *Config) check() error {
	if c.Concurrency < 1 {
		return usagef("--concurrency %d: want a whole number ≥ 1", c.Concurrency)
	}
	if c.Rate < 0 {
		return usagef("--rate %v: want a number ≥ 0 (0 = no limit)", c.Rate)
	}
	return c.checkAdmin()
}

func (a *App) resolveEnv(f *pflag.FlagSet) error {
	env := func(flag, name string, apply func(string) error) error {
		if fl := f.Lookup(flag); fl != nil && fl.Changed {
			return nil
		}
		v := strings.TrimSpace(a.Getenv(name))
		if v == "" {
			return nil
		}
		if err := apply(v); err != nil {
			return usagef("%s=%q: %v", name, v, err)
		}
		return nil
	}
	str := func(dst *string) func(string) error { return func(v string) error { *dst = v; return nil } }
	return firstErr(
		env("db", "TIDINGS_DB", str(&a.cfg.DBPath)),
		env("smtp-url", "TIDINGS_SMTP_URL", func(v string) error { a.cfg.SMTPURLs = strings.Fields(v); return nil }),
		env("base-url", "TIDINGS_BASE_URL", str(&a.cfg.BaseURL)),
		env("http", "TIDINGS_HTTP", str(&a.cfg.HTTPAddr)),
		env("scan-window", "TIDINGS_SCAN_WINDOW", func(v string) error {
			d, err := parseScanWindow(v)
			a.cfg.ScanWindow = d
			return err
		}),
		env("admin-http", "TIDINGS_ADMIN_HTTP", str(&a.cfg.AdminHTTP)),
		env("admin-url", "TIDINGS_ADMIN_URL", str(&a.cfg.AdminURL)),
		env("concurrency", "TIDINGS_CONCURRENCY", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("want a whole number ≥ 1")
			}
			a.cfg.Concurrency = n
			return nil
		}),
		env("rate", "TIDINGS_RATE", func(v string) error {
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r < 0 {
				return fmt.Errorf("want a number ≥ 0")
			}
			a.cfg.Rate = r
			return nil
		}),
		env("dkim-key", "TIDINGS_DKIM_KEY", str(&a.cfg.DKIMKey)),
		env("dkim-selector", "TIDINGS_DKIM_SELECTOR", str(&a.cfg.DKIMSelector)),
		env("log-format", "TIDINGS_LOG_FORMAT", str(&a.cfg.LogFormat)),
	)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkBaseURL refuses a missing or malformed base URL before anything is
// sent: every unsubscribe and preferences link in mail is built on it, and
// mail that went out with wrong links cannot be called back.
func (a *App) checkBaseURL(cmd string) error {
	if a.cfg.BaseURL == "" {
		return usagef("%s: no base URL: set --base-url or TIDINGS_BASE_URL to the public address of the web server (e.g. https://news.example.org), used in every link in mail", cmd)
	}
	u, err := url.Parse(a.cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return usagef("%s: base URL %q: want http(s)://host[:port][/path]", cmd, a.cfg.BaseURL)
	}
	return nil
}
