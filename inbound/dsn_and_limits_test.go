package inbound

// Review R7: behaviours of issue 7 that had no test failing without them,
// and parsing variants real MTAs produce.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
)

func TestStatusCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"host mx.example.com[10.4.5.6] said: 550 5.1.1 user unknown", "5.1.1"},
		{"host mx.example.com[45.4.12.7] said: try later", ""}, // an IP, no code
		{"Exim 4.96 at 2.10.1.4", ""},
		{"Status: 5.1.1", "5.1.1"},
		{"mailbox unavailable (5.1.1).", "5.1.1"},
		{"550-5.1.1 The email account that you tried to reach does not exist.", "5.1.1"},
		{"550 5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"},
		{"250 2.0.0 Ok: queued", ""},
		{"Remote host said: 554 delivery error", "5.0.0"},
	}
	for _, tc := range cases {
		if got := statusCode(tc.in); got != tc.want {
			t.Errorf("statusCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	cases := map[string]string{
		"5.1.1": KindHard, "5.1.10": KindHard, "5.1.2": KindHard, "5.2.1": KindHard, "5.0.0": KindHard,
		"5.1.7": KindSoft, "5.1.8": KindSoft, // our own sender address
		"5.2.2": KindSoft, "4.2.2": KindSoft, "4.4.1": KindSoft,
		"5.7.1": KindSoft, "5.7.9": KindSoft, "5.7.26": KindSoft, // policy: DMARC, spam blocks
		"5.3.4": KindSoft, "5.2.3": KindSoft, "5.4.4": KindSoft, "5.6.0": KindSoft,
	}
	for code, want := range cases {
		if got := kindOf(code); got != want {
			t.Errorf("kindOf(%s) = %s, want %s", code, got, want)
		}
	}
}

// part is one MIME part of a built test message.
type part struct {
	ctype, cte, body string
}

// report builds a multipart/report (or another multipart type) from parts,
// with CRLF line ends as on the wire.
func report(top string, headers string, parts ...part) []byte {
	var b strings.Builder
	b.WriteString(headers)
	fmt.Fprintf(&b, "MIME-Version: 1.0\nContent-Type: %s; boundary=\"BOUNDARY\"\n\n", top)
	for _, p := range parts {
		b.WriteString("--BOUNDARY\n")
		fmt.Fprintf(&b, "Content-Type: %s\n", p.ctype)
		body := p.body
		if p.cte == "base64" {
			enc := base64.StdEncoding.EncodeToString([]byte(body))
			var wrapped strings.Builder
			for len(enc) > 76 {
				wrapped.WriteString(enc[:76] + "\n")
				enc = enc[76:]
			}
			wrapped.WriteString(enc + "\n")
			body = wrapped.String()
		}
		if p.cte != "" {
			fmt.Fprintf(&b, "Content-Transfer-Encoding: %s\n", p.cte)
		}
		b.WriteString("\n" + body + "\n")
	}
	b.WriteString("--BOUNDARY--\n")
	return []byte(strings.ReplaceAll(b.String(), "\n", "\r\n"))
}

func TestDSNVariants(t *testing.T) {
	const dsnReport = "multipart/report; report-type=delivery-status"
	headers := func(e *env) string {
		return "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\nTo: " + e.verp(e.issue) +
			"\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nDate: Tue, 16 Jul 2024 08:02:11 +0800\n"
	}
	notice := part{"text/plain; charset=us-ascii", "", "The mail system could not deliver your message."}
	origHeaders := func(e *env) part {
		return part{"text/rfc822-headers", "", "Return-Path: <" + e.verp(e.issue) + ">\nFrom: news@news.example.org\nTo: reader@example.com\nSubject: Issue 7\n"}
	}
	status := func(fields string) part {
		return part{"message/delivery-status", "", "Reporting-MTA: dns; mx.example.net\n\n" + fields}
	}
	cases := []struct {
		name  string
		build func(e *env) []byte
		kind  string // "" = no bounce recorded
		code  string
		st    tidings.Status
	}{
		{"no Original-Recipient, minimal fields", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.1.1\n"), origHeaders(e))
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"folded fields", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822;\n reader@example.com\nAction:\n failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\n 550 5.1.1 not exist.\n"), origHeaders(e))
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"8bit UTF-8 notice and headers", func(e *env) []byte {
			return report(dsnReport, headers(e), part{"text/plain; charset=utf-8", "8bit", "很抱歉，您的邮件无法投递：收件人不存在。"},
				status("Final-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 用户不存在\n"),
				part{"text/rfc822-headers; charset=utf-8", "8bit", "Return-Path: <" + e.verp(e.issue) + ">\nFrom: 科技情报 <news@news.example.org>\nSubject: 科技情报 第7期\n"})
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"base64 parts", func(e *env) []byte {
			return report(dsnReport, headers(e), part{"text/plain; charset=utf-8", "base64", "邮件投递失败。"},
				part{"message/delivery-status", "base64", "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 4.2.2\nDiagnostic-Code: smtp; 552 4.2.2 邮箱已满\n"},
				origHeaders(e))
		}, KindSoft, "4.2.2", tidings.StatusConfirmed},
		{"RFC 6533 global delivery status", func(e *env) []byte {
			return report(dsnReport, headers(e), notice,
				part{"message/global-delivery-status", "8bit", "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: utf-8; 读者@example.com\nAction: failed\nStatus: 5.1.1\n"},
				part{"message/global-headers", "8bit", "Return-Path: <" + e.verp(e.issue) + ">\nSubject: 科技情报\n"})
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"unindented continuation line", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.2.2\nDiagnostic-Code: smtp; 552 5.2.2 mailbox\nfull, try again later\n"), origHeaders(e))
		}, KindSoft, "5.2.2", tidings.StatusConfirmed},
		{"Status 5.0.0, diagnostic says 5.1.1", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Action: failed\nFinal-Recipient: rfc822;reader@example.com\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1 <reader@example.com>: Recipient address rejected\n"), origHeaders(e))
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"policy rejection (DMARC) is not the address's fault", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.7.9\nDiagnostic-Code: smtp; 554 5.7.9 Message not accepted for policy reasons.\n"), origHeaders(e))
		}, KindSoft, "5.7.9", tidings.StatusConfirmed},
		{"Status 5.0.0, diagnostic says spam block", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Action: failed\nFinal-Recipient: rfc822;reader@example.com\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 5.7.1 Message rejected as spam\n"), origHeaders(e))
		}, KindSoft, "5.7.1", tidings.StatusConfirmed},
		{"report wrapped in multipart/mixed", func(e *env) []byte {
			return report("multipart/mixed", headers(e), notice, status("Final-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.1.1\n"), origHeaders(e))
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"relayed then failed", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822; old@example.com\nAction: relayed\nStatus: 2.0.0\n\nFinal-Recipient: rfc822; reader@example.com\nAction: failed\nStatus: 5.1.1\n"), origHeaders(e))
		}, KindHard, "5.1.1", tidings.StatusBounced},
		{"success report", func(e *env) []byte {
			return report(dsnReport, headers(e), notice, status("Final-Recipient: rfc822; reader@example.com\nAction: delivered\nStatus: 2.0.0\n"), origHeaders(e))
		}, "", "", tidings.StatusConfirmed},
		{"delay report with a bounce-like text", func(e *env) []byte {
			return report(dsnReport, headers(e), part{"text/plain", "", "550 5.1.1 user unknown at the backup MX; still trying"},
				status("Final-Recipient: rfc822; reader@example.com\nAction: delayed\nStatus: 4.4.1\n"), origHeaders(e))
		}, "", "", tidings.StatusConfirmed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.mustSend("", []string{e.verp(e.issue)}, tc.build(e))
			got := e.bounces()
			switch {
			case tc.kind == "" && len(got) != 0:
				t.Errorf("bounces = %+v, want none", got)
			case tc.kind != "" && (len(got) != 1 || got[0].Kind != tc.kind || got[0].Code != tc.code || got[0].Issue != e.issue):
				t.Errorf("bounces = %+v, want one %s %s on issue %d", got, tc.kind, tc.code, e.issue)
			}
			if st := e.status("reader@example.com"); st != tc.st {
				t.Errorf("status = %s, want %s", st, tc.st)
			}
		})
	}
}

// TestAutoReplySignals: each RFC 3834 or vendor signal on its own keeps
// a bounce-looking auto-reply from being taken for a bounce, while the
// same message without it, or from a mailer daemon, is one.
func TestAutoReplySignals(t *testing.T) {
	base := "From: Reader <reader@example.com>\r\nTo: bounces+x@news.example.org\r\nSubject: %s\r\n%s\r\nI am away. Re your mail: 550 5.1.1 user unknown, mailbox full.\r\n"
	cases := []struct {
		name, subject, header string
		auto                  bool
	}{
		{"control: no signal", "Undeliverable: 科技情报", "", false},
		{"Auto-Submitted", "Undeliverable: 科技情报", "Auto-Submitted: auto-replied\r\n", true},
		{"Auto-Submitted auto-generated", "Undeliverable: 科技情报", "Auto-Submitted: auto-generated\r\n", true},
		{"Auto-Submitted: no", "Undeliverable: 科技情报", "Auto-Submitted: no\r\n", false},
		{"X-Autoreply", "Undeliverable: 科技情报", "X-Autoreply: yes\r\n", true},
		{"X-Autorespond", "Undeliverable: 科技情报", "X-Autorespond: yes\r\n", true},
		{"Precedence auto_reply", "Undeliverable: 科技情报", "Precedence: auto_reply\r\n", true},
		{"Exchange subject", "Automatic reply: Undeliverable 科技情报", "", true},
		{"Out of office subject", "Out of Office: returned mail", "", true},
		{"Chinese subject", "自动回复: 退信", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseMessage([]byte(fmt.Sprintf(base, tc.subject, tc.header)))
			if err != nil {
				t.Fatal(err)
			}
			_, why := classifyBounce(m)
			if isAuto := strings.HasPrefix(why, "auto-reply"); isAuto != tc.auto {
				t.Errorf("classifyBounce: reason %q, want auto-reply %v", why, tc.auto)
			}
		})
	}
	// A mailer daemon's bounce carries Auto-Submitted too (RFC 3464
	// section 2.1 and Postfix, Exim, Gmail all set it): still a bounce.
	m, err := parseMessage([]byte("From: MAILER-DAEMON@mx.example.net\r\nSubject: failure notice\r\nAuto-Submitted: auto-replied\r\n\r\n<reader@example.com>:\r\nRemote host said: 550 5.1.1 user unknown\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, why := classifyBounce(m); why != "" || b.kind != KindHard {
		t.Errorf("daemon bounce with Auto-Submitted: %+v, %q; want a hard bounce", b, why)
	}
}

func (e *env) deliveryRow(issue int64) (state, failKind, lastError string) {
	e.t.Helper()
	if err := e.d.R.QueryRow("SELECT state, fail_kind, last_error FROM deliveries WHERE issue_id = ? AND subscriber_id = ?", issue, e.reader).
		Scan(&state, &failKind, &lastError); err != nil {
		e.t.Fatal(err)
	}
	return
}

// TestDeliveryRowRecordsBounce: hard and soft bounces are both written
// on the issue's delivery row.
func TestDeliveryRowRecordsBounce(t *testing.T) {
	e := newEnv(t)
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("gmail-soft.eml"))
	if st, _, le := e.deliveryRow(e.issue); st != "sent" || !strings.HasPrefix(le, "soft bounce: 4.2.2") {
		t.Errorf("after a soft bounce: state %q, last_error %q; want sent with the soft bounce noted", st, le)
	}
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-hard.eml"))
	if st, fk, le := e.deliveryRow(e.issue); st != "bounced" || fk != "recipient" || !strings.HasPrefix(le, "bounced: 5.1.1") {
		t.Errorf("after a hard bounce: state %q, fail_kind %q, last_error %q", st, fk, le)
	}
	c, err := CountIssue(e.ctx, e.d, e.issue)
	if err != nil {
		t.Fatal(err)
	}
	if want := (IssueCounts{Hard: 1, Soft: 1}); c != want {
		t.Errorf("CountIssue = %+v, want %+v", c, want)
	}
}

// TestComplaintVariants: abuse reports as feedback loops really send them.
func TestComplaintVariants(t *testing.T) {
	t.Run("to the List-Unsubscribe mailto", func(t *testing.T) {
		e := newEnv(t)
		e.mustSend("", []string{e.unsubAddr()}, e.fixture("arf.eml"))
		got := e.bounces()
		if len(got) != 1 || got[0].Kind != KindComplaint || got[0].Issue != e.issue {
			t.Fatalf("bounces = %+v, want one complaint on issue %d", got, e.issue)
		}
		if st := e.status("reader@example.com"); st != tidings.StatusUnsubscribed {
			t.Errorf("status = %s, want unsubscribed", st)
		}
		if st, _, _ := e.deliveryRow(e.issue); st != "complained" {
			t.Errorf("delivery = %s, want complained", st)
		}
	})
	t.Run("headers only, redacted, in a plain mailbox", func(t *testing.T) {
		// The reported message's headers are cut to a few, the
		// recipient redacted; only Original-Mail-From carries the token.
		e := newEnv(t)
		raw := report("multipart/report; report-type=feedback-report",
			"From: staff@fbl.example.com\nTo: fbl@news.example.org\nSubject: Complaint\nMessage-ID: <c1@fbl.example.com>\n",
			part{"text/plain", "", "A complaint about a message from 192.0.2.10."},
			part{"message/feedback-report", "", "Feedback-Type: abuse\nUser-Agent: FBL/2.0\nVersion: 1\nOriginal-Mail-From: <" + e.verp(e.issue) + ">\nOriginal-Rcpt-To: <redacted@example.com>\n"},
			part{"text/rfc822-headers", "", "From: news@news.example.org\nTo: redacted\nSubject: Issue 7\n"})
		res, err := e.proc.ProcessEnvelope(e.ctx, Envelope{Source: "pop3"}, raw)
		if err != nil || res.Action != ActionComplaint || res.IssueID != e.issue {
			t.Fatalf("%+v, %v; want a complaint on issue %d", res, err, e.issue)
		}
		c, err := CountIssue(e.ctx, e.d, e.issue)
		if err != nil || c.Complaints != 1 {
			t.Errorf("CountIssue = %+v, %v; want one complaint", c, err)
		}
	})
}

func TestSMTPIdleTimeout(t *testing.T) {
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.ReadTimeout = 200 * time.Millisecond })
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A client that says nothing is dropped; the generous bound only
	// keeps a broken server from hanging the test.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf bytes.Buffer
	_, err = buf.ReadFrom(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept an idle connection open: %q", buf.String())
	}
	if !strings.HasPrefix(buf.String(), "220 ") {
		t.Errorf("got %q, want the greeting and then a closed connection", buf.String())
	}
}

// failingDirectory fails while fail is set, as a database that is down.
type failingDirectory struct {
	Directory
	fail atomic.Bool
}

var errDown = errors.New("database is down")

func (f *failingDirectory) Lists(ctx context.Context) ([]tidings.List, error) {
	if f.fail.Load() {
		return nil, errDown
	}
	return f.Directory.Lists(ctx)
}

// TestPOP3FailureLeavesMessage: a message whose processing fails stays
// in the mailbox and is processed by a later poll.
func TestPOP3FailureLeavesMessage(t *testing.T) {
	e := newEnv(t)
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{POP3User: "bounces", POP3Pass: "s3cret"})
	smtpAddr, pop3Addr := mp.SMTP, mp.POP3
	for _, f := range []string{"postfix-hard.eml", "arf.eml"} {
		if err := send(smtpAddr, "", []string{e.verp(e.issue)}, e.fixture(f)); err != nil {
			t.Fatal(err)
		}
	}
	dir := &failingDirectory{Directory: e.store}
	dir.fail.Store(true)
	proc, err := New(Config{DB: e.d, Signer: e.signer, Directory: dir, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := ParseMailbox("pop3://bounces:s3cret@" + pop3Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPoller(PollerConfig{Processor: proc, Mailbox: mb, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Poll(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (PollStats{Messages: 2, Failed: 2}); st != want {
		t.Fatalf("poll while failing: %+v, want %+v", st, want)
	}
	dir.fail.Store(false)
	st, err = p.Poll(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (PollStats{Messages: 2, Processed: 2, Deleted: 2}); st != want {
		t.Errorf("poll after recovery: %+v, want %+v", st, want)
	}
	if n := len(e.bounces()); n != 2 {
		t.Errorf("%d bounces rows, want 2 (hard bounce, complaint)", n)
	}
}

// TestSMTPMaxSession: a client that keeps itself busy with NOOPs is
// still cut off after MaxSession.
func TestSMTPMaxSession(t *testing.T) {
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.MaxSession = 300 * time.Millisecond })
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if g, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(g, "220") {
		t.Fatalf("greeting %q, %v", g, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("NOOP\r\n")); err != nil {
			return // cut off
		}
		if _, err := r.ReadString('\n'); err != nil {
			return // cut off
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("a busy session outlived MaxSession by far")
}

// nestedUnclosed is a small message nesting depth multiparts whose
// boundaries are closed in the wrong order: enmime's worst case.
func nestedUnclosed(to string, depth int, folded bool) []byte {
	var b strings.Builder
	b.WriteString("From: MAILER-DAEMON@mx.example.net\r\nTo: " + to + "\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		sep := " "
		if folded && i%2 == 1 {
			sep = "\r\n\t"
		}
		fmt.Fprintf(&b, "Content-Type:%smultipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", sep, i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\n550 5.1.1 user unknown\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return []byte(b.String())
}

// TestHostileNesting: a 2 KB message that would keep the MIME parser
// busy for hours is refused before parsing; the guard keeps a regression
// from hanging the whole suite.
func TestHostileNesting(t *testing.T) {
	e := newEnv(t)
	for _, folded := range []bool{false, true} {
		raw := nestedUnclosed(e.verp(e.issue), 40, folded)
		done := make(chan error, 1)
		go func() { done <- send(e.addr, "", []string{e.verp(e.issue)}, raw) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("folded %v: %v", folded, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("folded %v: a %d-byte message with 40 nested multiparts is still being parsed after 30 s", folded, len(raw))
		}
	}
	if got := e.bounces(); len(got) != 0 {
		t.Errorf("bounces = %+v, want none", got)
	}
	// Real reports stay under the limit: the deepest fixture, Gmail's, is
	// parsed (its returned message adds more).
	if n := len(multipartRe.FindAll(e.fixture("gmail-hard.eml"), -1)); n > maxMultiparts/2 {
		t.Errorf("gmail-hard.eml has %d multiparts, want the limit %d to leave room", n, maxMultiparts)
	}
}
