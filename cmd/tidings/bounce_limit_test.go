package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// serve judges a reader by one hard-bounce threshold, whether the bounce
// was an SMTP reply at send time (the engine) or a DSN by mail (inbound).
func TestOneHardBounceLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		flags []string
		want  int
	}{
		{"default", nil, nil, 1},
		{"flag", nil, []string{"--hard-bounces", "3"}, 3},
		{"environment", map[string]string{"TIDINGS_BOUNCE_LIMIT": "4"}, nil, 4},
		{"flag over environment", map[string]string{"TIDINGS_BOUNCE_LIMIT": "4"}, []string{"--hard-bounces", "2"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return tc.env[k] })
			a.cfg.SMTPURLs = []string{"smtp://127.0.0.1:2525?tls=none"}
			c := &cobra.Command{Use: "serve"}
			a.inboundFlags(c)
			if err := c.ParseFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			if err := a.inbound.resolve(a.Getenv); err != nil {
				t.Fatal(err)
			}
			cfg, err := a.sendConfig()
			if err != nil {
				t.Fatal(err)
			}
			engine := cfg.BounceLimit
			if engine == 0 {
				engine = 1 // unset: mailer.Config's default
			}
			if a.inbound.hardBounces != tc.want || engine != tc.want {
				t.Errorf("inbound limit %d, engine limit %d; want both %d", a.inbound.hardBounces, engine, tc.want)
			}
		})
	}
	var out, errb bytes.Buffer
	a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return map[string]string{"TIDINGS_BOUNCE_LIMIT": "zero"}[k] })
	c := &cobra.Command{Use: "serve"}
	a.inboundFlags(c)
	if err := a.inbound.resolve(a.Getenv); err == nil || !strings.Contains(err.Error(), "TIDINGS_BOUNCE_LIMIT") {
		t.Errorf("bad TIDINGS_BOUNCE_LIMIT: err = %v", err)
	}
}

// serve applies one soft-bounce rule too: the engine counts refusals at
// send time (552 5.2.2, 550 5.7.1) against --soft-bounces within
// --soft-bounce-window, as inbound counts soft DSNs.
func TestOneSoftBounceRule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		flags  []string
		limit  int
		window time.Duration
	}{
		{"default", nil, nil, 3, 720 * time.Hour},
		{"flags", nil, []string{"--soft-bounces", "5", "--soft-bounce-window", "48h"}, 5, 48 * time.Hour},
		{"environment", map[string]string{"TIDINGS_SOFT_BOUNCES": "4", "TIDINGS_SOFT_BOUNCE_WINDOW": "72h"}, nil, 4, 72 * time.Hour},
		{"flag over environment", map[string]string{"TIDINGS_SOFT_BOUNCES": "4"}, []string{"--soft-bounces", "2"}, 2, 720 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return tc.env[k] })
			a.cfg.SMTPURLs = []string{"smtp://127.0.0.1:2525?tls=none"}
			c := &cobra.Command{Use: "serve"}
			a.inboundFlags(c)
			if err := c.ParseFlags(tc.flags); err != nil {
				t.Fatal(err)
			}
			if err := a.inbound.resolve(a.Getenv); err != nil {
				t.Fatal(err)
			}
			cfg, err := a.sendConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SoftLimit != tc.limit || cfg.SoftWindow != tc.window || a.inbound.softBounces != tc.limit || a.inbound.softWindow != tc.window {
				t.Errorf("engine %d in %s, inbound %d in %s; want both %d in %s",
					cfg.SoftLimit, cfg.SoftWindow, a.inbound.softBounces, a.inbound.softWindow, tc.limit, tc.window)
			}
		})
	}
}

// tidings send without serve counts soft bounces by the same variables as
// serve, so a reader refused by a CLI send and by the daemon's mail is
// judged by one rule; bad values are refused as usage errors.
func TestCLISendSoftBounceRuleFromEnvironment(t *testing.T) {
	newApp := func(env map[string]string) *App {
		var out, errb bytes.Buffer
		a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		a.cfg.SMTPURLs = []string{"smtp://127.0.0.1:2525?tls=none"}
		return a
	}
	cfg, err := newApp(map[string]string{"TIDINGS_SOFT_BOUNCES": "4", "TIDINGS_SOFT_BOUNCE_WINDOW": "72h"}).sendConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SoftLimit != 4 || cfg.SoftWindow != 72*time.Hour {
		t.Errorf("CLI engine: %d in %s, want 4 in 72h", cfg.SoftLimit, cfg.SoftWindow)
	}
	for name, v := range map[string]string{"TIDINGS_SOFT_BOUNCES": "zero", "TIDINGS_SOFT_BOUNCE_WINDOW": "-1h"} {
		if _, err := newApp(map[string]string{name: v}).sendConfig(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want a usage error naming it", name, v, err)
		}
	}
}
