// Package console is the editors' and admins' web console at /admin/:
// server-rendered pages over package ops (sign-in, lists, issues, tagging,
// audience, preview, test copies, schedules, sends, subscribers, users,
// tokens, the audit log). Pages work without JavaScript; a small script
// only makes them livelier.
//
// The console calls only package ops: every role and list check happens
// there, in one place, and every change lands in the audit log.
package console

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidings/tidings/ops"
)

// Config is what the console needs from its host.
type Config struct {
	Ops            *ops.Service
	Logger         *slog.Logger
	Now            func() time.Time
	SecureCookies  bool     // mark the session cookie Secure (behind https)
	TrustedOrigins []string // extra origins allowed to POST (e.g. "https://admin.example.org")
}

// ErrConfig is a console configuration that cannot work.
var ErrConfig = errors.New("console: bad configuration")

// prefix is where the console lives; every route and cookie is under it.
const prefix = "/admin"

// handler holds what every action needs.
type handler struct {
	ops   *ops.Service
	log   *slog.Logger
	now   func() time.Time
	cfg   Config
	views *views
}

// New returns the console's handler; mount it at /admin/.
func New(cfg Config) (http.Handler, error) {
	if cfg.Ops == nil {
		return nil, fmt.Errorf("%w: Ops is required", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	vs, err := loadViews()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	h := &handler{ops: cfg.Ops, log: cfg.Logger, now: cfg.Now, cfg: cfg, views: vs}

	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("%w: trusted origin %q: %v", ErrConfig, o, err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec-fetch-site", r.Header.Get("Sec-Fetch-Site"))
		h.fail(w, r, http.StatusForbidden, "err.crossorigin", nil)
	}))

	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, h.wrap(rt))
	}
	mux.Handle("GET "+prefix+"/static/", http.StripPrefix(prefix+"/static/", staticHandler()))
	mux.HandleFunc(prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusNotFound, "err.notfound", nil)
	})
	// Every state-changing request passes the cross-origin check; GET and
	// HEAD change nothing, so they pass it by design.
	return securityHeaders(cop.Handler(mux)), nil
}

// securityHeaders sets the headers every console answer carries. The
// preview frame overrides the CSP with its own, stricter one.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// safeNext is a local console path to go back to after a form, or the home
// page: never another site ("//evil", "https://…", "/\evil").
func safeNext(s string) string {
	if s == "" || !strings.HasPrefix(s, prefix+"/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return prefix + "/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return prefix + "/"
	}
	return s
}

// clientIP is the address of the browser, for rate limits and the audit log.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
