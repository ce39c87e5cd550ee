package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/token"
)

// seedInboundList makes list keji at news.example.org with one confirmed
// reader and returns the database path and the reader's VERP address.
func seedInboundList(t *testing.T) (env map[string]string, verp string) {
	t.Helper()
	env = testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@news.example.org>", "--lang", "zh")
	mustRunCLI(t, env, "topic", "add", "biomed", "--name", "生物医药", "--list", "keji")
	mustRunCLI(t, env, "sub", "add", "reader@example.com", "--list", "keji")
	ctx := context.Background()
	d, err := db.Open(ctx, env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	secret, err := d.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listID, subID int64
	if err := d.R.QueryRow("SELECT l.id, s.subscriber_id FROM lists l JOIN subscriptions s ON s.list_id = l.id").Scan(&listID, &subID); err != nil {
		t.Fatal(err)
	}
	tok := token.New(secret).Sign(token.Claims{Purpose: token.Bounce, SubscriberID: subID, ListID: listID})
	return env, tidings.BounceAddress(tok, "news.example.org")
}

func smtpSend(addr, from, to string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func TestStartInboundWiring(t *testing.T) {
	env, verp := seedInboundList(t)
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	env["TIDINGS_SMTP_LISTEN"] = listen

	var out, errb bytes.Buffer
	a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	a.cfg.DBPath = env["TIDINGS_DB"]
	a.cfg.SMTPURLs = []string{"smtp://" + sink.Addr + "?tls=none"}
	a.cfg.BaseURL = "https://news.example.org"
	c := &cobra.Command{Use: "serve"}
	a.inboundFlags(c)
	if err := c.ParseFlags([]string{"--soft-bounces", "2"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := a.DB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	stop, err := a.startInbound(ctx, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop(ctx)
		}
	}()

	// A hard bounce marks the reader bounced.
	raw, err := os.ReadFile("../../inbound/testdata/postfix-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("@@VERP@@"), []byte(verp))
	if err := smtpSend(listen, "", verp, raw); err != nil {
		t.Fatalf("deliver bounce: %v", err)
	}
	var st string
	if err := d.R.QueryRow("SELECT status FROM subscriptions").Scan(&st); err != nil || st != "bounced" {
		t.Errorf("status = %q (%v), want bounced", st, err)
	}
	// A subscribe mail gets the web form's confirmation through the relay.
	sub := []byte("From: Alice <alice@example.net>\r\nTo: keji+subscribe@news.example.org\r\nSubject: 订阅 生物医药\r\nMessage-ID: <a1@example.net>\r\n\r\nhi\r\n")
	if err := smtpSend(listen, "alice@example.net", "keji+subscribe@news.example.org", sub); err != nil {
		t.Fatalf("deliver subscribe: %v", err)
	}
	if !sink.Wait(1, 5*time.Second) {
		t.Fatal("no confirmation mail reached the relay")
	}
	if m := sink.Messages()[0]; m.To[0] != "alice@example.net" || m.From != "news@news.example.org" {
		t.Errorf("confirmation went from %s to %v", m.From, m.To)
	}
	// Relays are refused.
	if err := smtpSend(listen, "x@example.net", "victim@example.com", []byte("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("relay attempt: err = %v, want 550", err)
	}

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stopped = true
	if err := stop(sctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		t.Error("listener still accepts after stop")
	}
}

func TestStartInboundBadConfig(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"cert without key", map[string]string{"TIDINGS_SMTP_LISTEN": "127.0.0.1:0"}, []string{"--smtp-listen-cert", "x.pem"}},
		{"bad mailbox", map[string]string{"TIDINGS_BOUNCE_MAILBOX": "imap://u:p@h"}, nil},
		{"bad poll", map[string]string{"TIDINGS_BOUNCE_MAILBOX": "pop3s://u:p@h", "TIDINGS_BOUNCE_POLL": "soon"}, nil},
		{"zero soft bounces", map[string]string{"TIDINGS_SMTP_LISTEN": "127.0.0.1:0"}, []string{"--soft-bounces", "0"}},
		{"zero recipients", map[string]string{"TIDINGS_SMTP_LISTEN": "127.0.0.1:0"}, []string{"--smtp-listen-max-rcpts", "0"}},
		{"tiny size limit", map[string]string{"TIDINGS_SMTP_LISTEN": "127.0.0.1:0"}, []string{"--smtp-listen-max-size", "10"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t)
			for k, v := range tc.env {
				env[k] = v
			}
			var out, errb bytes.Buffer
			a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
			a.cfg.DBPath = env["TIDINGS_DB"]
			a.cfg.SMTPURLs = []string{"smtp://127.0.0.1:1?tls=none"}
			c := &cobra.Command{Use: "serve"}
			a.inboundFlags(c)
			if err := c.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			d, err := a.DB(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			stop, err := a.startInbound(context.Background(), d, slog.New(slog.DiscardHandler))
			if err == nil {
				stop(context.Background())
				t.Fatal("started, want a configuration error")
			}
			if exitCode(err) != exitUsage {
				t.Errorf("err = %v (exit %d), want a usage error", err, exitCode(err))
			}
		})
	}
}

func TestBouncesLs(t *testing.T) {
	env, _ := seedInboundList(t)
	mustRunCLI(t, env, "sub", "add", "other@example.com", "--list", "keji")
	ctx := context.Background()
	d, err := db.Open(ctx, env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.W.Exec(`INSERT INTO issues (id, list_id, number, title, created_at) VALUES (7, 1, 7, 't', 0);
		INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, source, at) VALUES
		((SELECT id FROM subscribers WHERE email_key = 'reader@example.com'), 1, 7, 'hard', '5.1.1', 'user unknown', 'smtp/dsn', 1721088131),
		((SELECT id FROM subscribers WHERE email_key = 'other@example.com'), 1, NULL, 'soft', '4.2.2', 'mailbox full', 'pop3/dsn', 1721088200),
		((SELECT id FROM subscribers WHERE email_key = 'other@example.com'), 1, 7, 'complaint', '', 'Feedback-Type: abuse', 'smtp/arf', 1721088300)`)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}

	var rows []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "bounces", "ls", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	first := rows[0] // newest first
	for _, k := range []string{"email", "kind", "code", "issue", "at"} {
		if _, ok := first[k]; !ok {
			t.Errorf("key %q missing in %v", k, first)
		}
	}
	if first["kind"] != "complaint" || first["issue"] != float64(7) || first["at"] != "2024-07-16T00:05:00Z" {
		t.Errorf("first row = %v", first)
	}
	if rows[1]["issue"] != nil {
		t.Errorf("bounce without issue: issue = %v, want null", rows[1]["issue"])
	}

	out := mustRunCLI(t, env, "bounces", "ls", "--list", "keji", "--kind", "hard")
	if !strings.Contains(out, "reader@example.com") || strings.Contains(out, "other@example.com") || !strings.Contains(out, "5.1.1") {
		t.Errorf("bounces ls --kind hard:\n%s", out)
	}

	for _, args := range [][]string{{"bounces", "ls", "--kind", "bad"}, {"bounces", "ls", "--limit", "0"}, {"bounces"}, {"bounces", "ls", "extra"}} {
		if _, _, code := runCLI(t, env, "", args...); code != exitUsage {
			t.Errorf("tidings %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	if _, errs, code := runCLI(t, env, "", "bounces", "ls", "--list", "nosuch"); code != exitFailure || !strings.Contains(errs, "nosuch") {
		t.Errorf("unknown list: exit %d, stderr %q", code, errs)
	}
}

// TestServeInbound runs `tidings serve --smtp-listen` in-process: the
// flags are serve's, and the listener stops with the daemon.
func TestServeInbound(t *testing.T) {
	env, verp := seedInboundList(t)
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	listen, httpAddr := free(), free()
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr + "?tls=none"
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	env["TIDINGS_LOG_FORMAT"] = "json"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		done <- a.Run(ctx, []string{"serve", "--http", httpAddr, "--smtp-listen", listen, "--hard-bounces", "1"})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before listening:\n%s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen on %s", listen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	raw, err := os.ReadFile("../../inbound/testdata/gmail-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := smtpSend(listen, "", verp, bytes.ReplaceAll(raw, []byte("@@VERP@@"), []byte(verp))); err != nil {
		t.Fatalf("deliver bounce: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d:\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "bounces", "ls", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0]["kind"] != "hard" || rows[0]["code"] != "5.1.1" || rows[0]["email"] != "reader@example.com" {
		t.Errorf("bounces = %v, want the hard bounce", rows)
	}
	if !strings.Contains(errb.String(), "inbound smtp listening") {
		t.Errorf("log lacks the listener line:\n%s", errb.String())
	}
}
