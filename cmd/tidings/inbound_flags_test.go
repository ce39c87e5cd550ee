package main

// serve's inbound flags reach the Processor, and bounces ls
// filters by list.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/smtpsink"
)

func TestInboundFlagsReachProcessor(t *testing.T) {
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

	var out, errb bytes.Buffer
	a := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	a.cfg.DBPath = env["TIDINGS_DB"]
	a.cfg.SMTPURLs = []string{"smtp://" + sink.Addr + "?tls=none"}
	a.cfg.BaseURL = "https://news.example.org"
	c := &cobra.Command{Use: "serve"}
	a.inboundFlags(c)
	if err := c.ParseFlags([]string{"--smtp-listen", listen, "--hard-bounces", "2", "--inbound-replies-per-hour", "1",
		"--smtp-listen-max-rcpts", "1", "--smtp-listen-max-size", "5000"}); err != nil {
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
	defer stop(ctx)

	raw, err := os.ReadFile("../../inbound/testdata/postfix-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	if err := smtpSend(listen, "", verp, bytes.ReplaceAll(raw, []byte("@@VERP@@"), []byte(verp))); err != nil {
		t.Fatal(err)
	}
	var st string
	if err := d.R.QueryRow("SELECT status FROM subscriptions").Scan(&st); err != nil || st != "confirmed" {
		t.Errorf("after one hard bounce with --hard-bounces 2: status %q (%v), want confirmed", st, err)
	}
	for i := range 2 {
		msg := fmt.Sprintf("From: alice@example.net\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <r7-%d@example.net>\r\n\r\nhi\r\n", i)
		if err := smtpSend(listen, "alice@example.net", "keji+subscribe@news.example.org", []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if n := sink.Count(); n != 1 {
		t.Errorf("%d answers to one address with --inbound-replies-per-hour 1, want 1", n)
	}

	// The size and recipient limits are the flags'.
	cl, err := smtp.Dial(listen)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Mail(""); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rcpt(verp); err != nil {
		t.Fatal(err)
	}
	if err := cl.Rcpt(verp); err == nil || !strings.HasPrefix(err.Error(), "452") {
		t.Errorf("second recipient with --smtp-listen-max-rcpts 1: %v, want 452", err)
	}
	big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 400)...)
	if err := smtpSend(listen, "", verp, big); err == nil || !strings.HasPrefix(err.Error(), "552") {
		t.Errorf("7 KB message with --smtp-listen-max-size 5000: %v, want 552", err)
	}
}

func TestBouncesLsByList(t *testing.T) {
	env, _ := seedInboundList(t)
	mustRunCLI(t, env, "list", "add", "other", "--name", "Other", "--from", "Other <news@other.example.org>", "--lang", "en")
	mustRunCLI(t, env, "sub", "add", "reader@example.com", "--list", "other")
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.W.Exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, source, at)
		SELECT s.id, l.id, NULL, 'hard', CASE l.slug WHEN 'keji' THEN '5.1.1' ELSE '5.1.2' END, '', 'smtp/dsn', 1721088131
		FROM subscribers s, lists l WHERE s.email_key = 'reader@example.com'`)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	for list, code := range map[string]string{"keji": "5.1.1", "other": "5.1.2"} {
		var rows []map[string]any
		if err := json.Unmarshal([]byte(mustRunCLI(t, env, "bounces", "ls", "--list", list, "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0]["code"] != code || rows[0]["list"] != list {
			t.Errorf("bounces ls --list %s = %v, want only its %s", list, rows, code)
		}
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "bounces", "ls", "--json")), &rows); err != nil || len(rows) != 2 {
		t.Errorf("bounces ls: %v, %v; want both lists' rows", rows, err)
	}
}
