package main

// The admin listener: the console (/admin/) and the JSON API (/api/v1/)
// on --admin-http, apart from the reader pages on --http so that the
// public side can face the internet while the console stays on a private
// address; on one listener when both flags name the same address.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidings/tidings/api"
	"github.com/tidings/tidings/console"
)

// checkAdmin refuses an --admin-url that cannot carry sign-in links.
func (c *Config) checkAdmin() error {
	if c.AdminURL == "" {
		return nil
	}
	u, err := url.Parse(c.AdminURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return usagef("--admin-url %q: want http(s)://host[:port][/path], the console's public address", c.AdminURL)
	}
	return nil
}

// adminURL is the console's public URL without a trailing slash:
// --admin-url; else, when the console shares the reader listener, the
// public --base-url (the console is reached there, so its links point
// there and its cookie is Secure behind https); else http:// +
// --admin-http (a wildcard host read as localhost).
func (a *App) adminURL() string {
	if a.cfg.AdminURL != "" {
		return strings.TrimRight(a.cfg.AdminURL, "/")
	}
	if a.cfg.BaseURL != "" && (a.cfg.AdminHTTP == "" || sameAddr(a.cfg.AdminHTTP, a.cfg.HTTPAddr)) {
		return strings.TrimRight(a.cfg.BaseURL, "/")
	}
	addr := a.cfg.AdminHTTP
	if addr == "" {
		addr = a.cfg.HTTPAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// consoleURL is the console's root, where sign-in links live
// ({admin-url}/admin/link/{value}); ops.Deps.ConsoleURL.
func (a *App) consoleURL() string { return a.adminURL() + "/admin/" }

// sameAddr reports whether two listen addresses name one socket: hosts
// compared case-insensitively, the wildcard spellings ("", 0.0.0.0, ::)
// as one, localhost as 127.0.0.1.
func sameAddr(x, y string) bool {
	norm := func(s string) string {
		host, port, err := net.SplitHostPort(strings.TrimSpace(s))
		if err != nil {
			return strings.ToLower(strings.TrimSpace(s))
		}
		host = strings.ToLower(host)
		switch host {
		case "", "0.0.0.0", "::", "[::]":
			host = "*"
		case "localhost":
			host = "127.0.0.1"
		}
		return host + ":" + port
	}
	return norm(x) == norm(y)
}

// adminRoutes mounts the console and the API on mux.
func (a *App) adminRoutes(ctx context.Context, mux *http.ServeMux, log *slog.Logger) error {
	svc, err := a.ops(ctx)
	if err != nil {
		return err
	}
	pub := a.adminURL()
	origin := pub
	if u, err := url.Parse(pub); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	con, err := console.New(console.Config{Ops: svc, Logger: log, Now: a.Now,
		SecureCookies: strings.HasPrefix(pub, "https://"), TrustedOrigins: []string{origin}})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	trust := a.Getenv("TIDINGS_TRUST_PROXY") == "1"
	mux.Handle("/admin/", forwardedFor(trust, con))
	mux.Handle("/api/", forwardedFor(trust, api.New(api.Config{Ops: svc, Logger: log, Now: a.Now})))
	return nil
}

// adminMux is the admin listener's own handler: the console, the API and
// a redirect from / to the console; nothing of the reader side.
func (a *App) adminMux(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	if err := a.adminRoutes(ctx, mux, log); err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
	})
	return mux, nil
}

// forwardedFor, behind a reverse proxy (TIDINGS_TRUST_PROXY=1), takes the
// client address from the last X-Forwarded-For entry (the one the proxy
// added), so that sign-in limits and the audit log see the person, not
// the proxy. Without the setting the header is ignored: anyone could
// forge it.
func forwardedFor(trust bool, h http.Handler) http.Handler {
	if !trust {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if ip := net.ParseIP(strings.TrimSpace(parts[len(parts)-1])); ip != nil {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = net.JoinHostPort(ip.String(), "0")
				r = r2
			}
		}
		h.ServeHTTP(w, r)
	})
}

// adminServer wires the console and the API into the daemon. They share
// the reader listener (mounted on readerMux; nil server returned) when
// --admin-http names the same address as --http, or when the daemon runs
// on a listener it was handed (the demo, tests) without an admin one;
// otherwise they get their own server, configured like reader, on
// o.adminListener or a new listener on --admin-http.
func (a *App) adminServer(ctx context.Context, o daemonOptions, readerMux *http.ServeMux, reader *http.Server, log *slog.Logger) (*http.Server, net.Listener, error) {
	shared := o.adminListener == nil && (o.listener != nil || a.cfg.AdminHTTP == "" || sameAddr(a.cfg.AdminHTTP, a.cfg.HTTPAddr))
	if shared {
		if err := a.adminRoutes(ctx, readerMux, log); err != nil {
			return nil, nil, fmt.Errorf("serve: %w", err)
		}
		log.Info("console and API on the reader listener", "console", a.consoleURL())
		return nil, nil, nil
	}
	h, err := a.adminMux(ctx, log)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	ln := o.adminListener
	if ln == nil {
		if ln, err = net.Listen("tcp", a.cfg.AdminHTTP); err != nil {
			return nil, nil, fmt.Errorf("serve: listen on %s (--admin-http): %w", a.cfg.AdminHTTP, err)
		}
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: reader.ReadHeaderTimeout,
		ReadTimeout:       reader.ReadTimeout,
		WriteTimeout:      reader.WriteTimeout,
		IdleTimeout:       reader.IdleTimeout,
		MaxHeaderBytes:    reader.MaxHeaderBytes,
		ErrorLog:          reader.ErrorLog,
		BaseContext:       reader.BaseContext,
	}
	log.Info("console and API listening", "admin_http", ln.Addr().String(), "console", a.consoleURL())
	return srv, ln, nil
}
