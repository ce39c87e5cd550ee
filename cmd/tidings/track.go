package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/track"
)

// parseScanWindow reads --scan-window / TIDINGS_SCAN_WINDOW ("15s", "1m").
func parseScanWindow(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("want a duration from 0s to 24h, like 15s")
	}
	return d, nil
}

// startTracker mounts click and open tracking (GET/HEAD /c/{token},
// /o/{token}) on the reader mux, registers its metrics on reg and runs
// its background writer. stop ends the writer after writing every event
// it still holds.
func (a *App) startTracker(ctx context.Context, d *db.DB, log *slog.Logger, scanWindow time.Duration, reg prometheus.Registerer, mux *http.ServeMux) (stop func(), err error) {
	if scanWindow < 0 {
		return nil, usagef("--scan-window %v: want a duration ≥ 0", scanWindow)
	}
	secret, err := d.Secret(ctx)
	if err != nil {
		return nil, err
	}
	m := track.NewMetrics()
	// --scan-window 0s turns the rule off (the other rules still apply)
	cfg := track.Config{DB: d, Signer: track.NewSigner(secret), Classifier: track.NewClassifier(scanWindow), Now: a.Now, Logger: log, Metrics: m}
	if a.Getenv("TIDINGS_TRUST_PROXY") == "1" {
		cfg.ClientIP = forwardedIP
	}
	tr, err := track.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, c := range m.Collectors() {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("track: metrics: %w", err)
		}
	}
	tr.Routes(mux)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := tr.Run(runCtx); err != nil {
			log.Warn("track: events not written at shutdown", "err", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// forwardedIP is the last X-Forwarded-For entry (behind a reverse proxy
// that writes it, as web's TIDINGS_TRUST_PROXY), else the peer.
func forwardedIP(r *http.Request) netip.Addr {
	host := r.RemoteAddr
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		parts := strings.Split(xff[len(xff)-1], ",")
		host = strings.TrimSpace(parts[len(parts)-1])
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, _ := netip.ParseAddr(host)
	return ip
}

// activity is a subscriber's tracked human events for sub show --json.
func (a *App) activity(ctx context.Context, subscriberID int64) ([]track.Activity, error) {
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	return track.PersonActivity(ctx, d, subscriberID)
}

// printActivity adds a person's tracked human events to sub show's text
// output (nothing when no list tracks them individually).
func (a *App) printActivity(ctx context.Context, subscriberID int64) error {
	act, err := a.activity(ctx, subscriberID)
	if err != nil || len(act) == 0 {
		return err
	}
	fmt.Fprintf(a.Stdout, "\nactivity (human clicks and opens, newest first):\n")
	t := newTable(a.Stdout, "ISSUE", "KIND", "URL", "AT")
	for _, e := range act {
		t.row(fmt.Sprint(e.Issue), e.Kind, e.URL, e.At.Local().Format("2006-01-02 15:04"))
	}
	return t.flush()
}
