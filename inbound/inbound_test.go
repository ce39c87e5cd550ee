package inbound

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/token"
)

func TestFixturesOverSMTP(t *testing.T) {
	type want struct {
		kind, code string // "" kind: no bounces row
		source     string
		status     tidings.Status
		delivery   string
	}
	cases := []struct {
		fixture string
		from    string // MAIL FROM; "" is <>
		rcpt    string // verp | unsub
		want    want
	}{
		{"postfix-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"postfix-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"exim-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/text", tidings.StatusBounced, "bounced"}},
		{"exim-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"microsoft-hard.eml", "", "verp", want{KindHard, "5.1.10", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"microsoft-soft.eml", "", "verp", want{KindSoft, "5.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"gmail-hard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/dsn", tidings.StatusBounced, "bounced"}},
		{"gmail-soft.eml", "", "verp", want{KindSoft, "4.2.2", "smtp/dsn", tidings.StatusConfirmed, "sent"}},
		{"qmail-nonstandard.eml", "", "verp", want{KindHard, "5.1.1", "smtp/text", tidings.StatusBounced, "bounced"}},
		{"arf.eml", "", "verp", want{KindComplaint, "", "smtp/arf", tidings.StatusUnsubscribed, "complained"}},
		// Auto-replies carry bounce words and codes in their text and
		// still change nothing.
		{"out-of-office.eml", "reader@example.com", "verp", want{"", "", "", tidings.StatusConfirmed, "sent"}},
		{"postfix-delay.eml", "", "verp", want{"", "", "", tidings.StatusConfirmed, "sent"}},
		{"unsubscribe-mailto.eml", "reader@example.com", "unsub", want{"", "", "", tidings.StatusUnsubscribed, "sent"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			rcpt := e.verp(e.issue)
			if tc.rcpt == "unsub" {
				rcpt = e.unsubAddr()
			}
			e.mustSend(tc.from, []string{rcpt}, e.fixture(tc.fixture))
			got := e.bounces()
			if tc.want.kind == "" {
				if len(got) != 0 {
					t.Errorf("bounces = %+v, want none", got)
				}
			} else {
				if len(got) != 1 {
					t.Fatalf("bounces = %+v, want one", got)
				}
				b := got[0]
				if b.Kind != tc.want.kind || b.Code != tc.want.code || b.Source != tc.want.source || b.Issue != e.issue {
					t.Errorf("bounce = %+v, want kind %s code %s source %s issue %d", b, tc.want.kind, tc.want.code, tc.want.source, e.issue)
				}
				if b.Kind != KindComplaint && b.Diagnostic == "" {
					t.Errorf("bounce has no diagnostic: %+v", b)
				}
			}
			if st := e.status("reader@example.com"); st != tc.want.status {
				t.Errorf("status = %s, want %s", st, tc.want.status)
			}
			if st := e.deliveryState(e.issue); st != tc.want.delivery {
				t.Errorf("delivery = %s, want %s", st, tc.want.delivery)
			}
			if n := e.sink.Count(); n != 0 {
				t.Errorf("%d mails sent, want none (bounces and reports are never answered)", n)
			}
		})
	}
}

func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 2 })
	msg := e.fixture("postfix-hard.eml")
	e.mustSend("", []string{e.verp(e.issue)}, msg)
	e.mustSend("", []string{e.verp(e.issue)}, msg) // the MTA retries after a lost reply
	if got := e.bounces(); len(got) != 1 {
		t.Fatalf("bounces = %+v, want one", got)
	}
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed (one of two hard bounces)", st)
	}
}

func TestHardBounceLimit(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 2 })
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-hard.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Fatalf("after 1 hard bounce: status = %s, want confirmed", st)
	}
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("gmail-hard.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusBounced {
		t.Fatalf("after 2 hard bounces: status = %s, want bounced", st)
	}
}

func TestSoftBounceWindow(t *testing.T) {
	e := newEnv(t) // default: 3 soft bounces within 30 days
	day := 24 * time.Hour
	steps := []struct {
		advance time.Duration
		want    tidings.Status
	}{
		{0, tidings.StatusConfirmed},        // day 0: 1 in window
		{20 * day, tidings.StatusConfirmed}, // day 20: 2
		{20 * day, tidings.StatusConfirmed}, // day 40: day 0 fell out, 2
		{5 * day, tidings.StatusBounced},    // day 45: days 20, 40, 45
		{100 * day, tidings.StatusBounced},  // stays bounced
	}
	for i, s := range steps {
		e.clock.Add(s.advance)
		msg := append([]byte(fmt.Sprintf("X-Test-Seq: %d\r\n", i)), e.fixture("postfix-soft.eml")...)
		e.mustSend("", []string{e.verp(e.issue)}, msg)
		if st := e.status("reader@example.com"); st != s.want {
			t.Fatalf("step %d: status = %s, want %s", i, st, s.want)
		}
	}
	if n := len(e.bounces()); n != len(steps) {
		t.Errorf("%d bounces recorded, want %d", n, len(steps))
	}
}

func TestRelayRefusedAtRcpt(t *testing.T) {
	e := newEnv(t)
	bounceTok := e.signer.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: e.reader, ListID: e.list.ID, IssueID: e.issue})
	prefTok := e.signer.Sign(token.Claims{Purpose: token.Preferences, SubscriberID: e.reader, ListID: e.list.ID})
	other := token.New([]byte("another secret, another database"))
	forged := other.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: e.reader, ListID: e.list.ID, IssueID: e.issue})
	refused := []string{
		"victim@gmail.example.com",                        // relay to another domain
		"news@news.example.org",                           // the list's From is not an inbound address
		"postmaster@news.example.org",                     // nor anything else at the domain
		"bounces+" + forged + "@news.example.org",         // token signed with another key
		"bounces+" + bounceTok[:20] + "@news.example.org", // truncated token
		"bounces+" + bounceTok + "@other.example.org",     // right token, wrong domain
		"unsubscribe+" + bounceTok + "@news.example.org",  // token for another purpose
		"bounces+" + prefTok + "@news.example.org",
		"nosuch+subscribe@news.example.org", // no such list
		"keji+subscribe@other.example.org",  // list at another domain
		"keji+confirm@news.example.org",     // no such detail
		"keji@news.example.org",
	}
	for _, rc := range refused {
		err := send(e.addr, "spammer@example.net", []string{rc}, []byte("Subject: hi\r\n\r\nhi\r\n"))
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != 550 || !strings.HasPrefix(te.Msg, "5.7.1") {
			t.Errorf("RCPT %s: err = %v, want 550 5.7.1", rc, err)
		}
	}
	accepted := []string{e.verp(e.issue), strings.ToUpper(e.verp(e.issue)), e.unsubAddr(), "keji+subscribe@news.example.org", "KEJI+unsubscribe@NEWS.example.org"}
	for _, rc := range accepted {
		c, err := smtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Mail(""); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(rc); err != nil {
			t.Errorf("RCPT %s: %v, want accepted", rc, err)
		}
		c.Close()
	}
}

func TestSMTPLimits(t *testing.T) {
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.MaxRecipients = 2; s.MaxMessageBytes = 4096 })
	rc := e.verp(e.issue)
	err := send(e.addr, "", []string{rc, rc, rc}, []byte("Subject: x\r\n\r\nx\r\n"))
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 452 {
		t.Errorf("3 recipients with a limit of 2: err = %v, want 452", err)
	}
	big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 1000)...)
	err = send(e.addr, "", []string{rc}, big)
	if !errors.As(err, &te) || te.Code != 552 {
		t.Errorf("18 KB message with a limit of 4 KB: err = %v, want 552", err)
	}
}

func TestComplaintToListAddressFindsReader(t *testing.T) {
	// A feedback loop configured to report to LIST+unsubscribe@: the
	// reader and issue come from the reported message's Return-Path.
	e := newEnv(t)
	e.mustSend("", []string{"keji+unsubscribe@news.example.org"}, e.fixture("arf.eml"))
	got := e.bounces()
	if len(got) != 1 || got[0].Kind != KindComplaint || got[0].Issue != e.issue {
		t.Fatalf("bounces = %+v, want one complaint on issue %d", got, e.issue)
	}
	if st := e.status("reader@example.com"); st != tidings.StatusUnsubscribed {
		t.Errorf("status = %s, want unsubscribed", st)
	}
	if n := e.sink.Count(); n != 0 {
		t.Errorf("%d mails sent, want none", n)
	}
}

func TestProcessWithoutEnvelopeRecipient(t *testing.T) {
	// The POP3 path: the list address comes from the message itself.
	e := newEnv(t)
	raw := e.fixture("postfix-hard.eml")
	// Delivered to a plain bounce mailbox: only the reported message's
	// Return-Path carries the token.
	raw = bytes.Replace(raw, []byte("To: "+e.verp(e.issue)+"\n"), []byte("To: postmaster@news.example.org\n"), 1)
	res, err := e.proc.ProcessEnvelope(e.ctx, Envelope{NullSender: true, Source: "pop3"}, raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != ActionBounce || res.Kind != KindHard || res.IssueID != e.issue {
		t.Errorf("result = %+v, want a hard bounce on issue %d", res, e.issue)
	}
	_, err = e.proc.ProcessEnvelope(e.ctx, Envelope{Source: "pop3"}, []byte("From: a@example.net\r\nTo: b@example.net\r\nSubject: hi\r\n\r\nhi\r\n"))
	if !errors.Is(err, ErrNoRecipient) {
		t.Errorf("foreign message: err = %v, want ErrNoRecipient", err)
	}
}

var _ io.Writer = slogWriter{}

func TestBounceForErasedReader(t *testing.T) {
	e := newEnv(t)
	if err := e.store.Delete(e.ctx, "reader@example.com"); err != nil {
		t.Fatal(err)
	}
	// The VERP token still verifies, so the MTA's bounce is accepted and
	// dropped: nothing may recreate the erased person.
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-hard.eml"))
	var n int
	if err := e.d.R.QueryRow("SELECT count(*) FROM bounces").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d bounces rows (%v), want 0", n, err)
	}
}

func TestSeenKeysArePruned(t *testing.T) {
	e := newEnv(t)
	count := func() int {
		var n int
		if err := e.d.R.QueryRow("SELECT count(*) FROM inbound_seen").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("postfix-delay.eml"))
	if count() != 1 {
		t.Fatalf("inbound_seen has %d keys, want 1", count())
	}
	e.clock.Add(seenTTL + 48*time.Hour)
	e.mustSend("", []string{e.verp(e.issue)}, e.fixture("out-of-office.eml"))
	if count() != 1 {
		t.Errorf("inbound_seen has %d keys after %s, want only the new one", count(), seenTTL)
	}
}

// BenchmarkProcessDSN measures one bounce from parse to commit (Gmail's
// DSN, the most deeply nested fixture) on a real SQLite file.
func BenchmarkProcessDSN(b *testing.B) {
	e := newEnv(b, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 1 << 30 })
	raw := e.fixture("gmail-hard.eml")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for i := 0; b.Loop(); i++ {
		res, err := e.proc.ProcessEnvelope(e.ctx, Envelope{Rcpt: e.verp(e.issue), NullSender: true, Key: fmt.Sprint("bench-", i)}, raw)
		if err != nil || res.Action != ActionBounce {
			b.Fatalf("%+v, %v", res, err)
		}
	}
}

// BenchmarkSMTPBounce measures a bounce delivered over a loopback SMTP
// connection to the listener, one connection per message.
func BenchmarkSMTPBounce(b *testing.B) {
	e := newEnv(b, func(c *Config, _ *ServerConfig) { c.Rules.HardLimit = 1 << 30 })
	raw := e.fixture("postfix-hard.eml")
	rc := e.verp(e.issue)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		msg := append([]byte(fmt.Sprintf("X-Seq: %d\r\n", i)), raw...)
		if err := send(e.addr, "", []string{rc}, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProcessReadsReturnPath: Process, without the SMTP envelope, takes the
// null sender from the Return-Path header, so a bounce that happens to
// reach a subscribe address is still never answered.
func TestProcessReadsReturnPath(t *testing.T) {
	e := newEnv(t)
	msg := []byte("Return-Path: <>\r\nFrom: someone@example.net\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\n\r\nhi\r\n")
	res, err := e.proc.Process(e.ctx, "keji+subscribe@news.example.org", msg)
	if err != nil || res.Action != ActionIgnored || res.Replied {
		t.Fatalf("null Return-Path: %+v, %v; want ignored", res, err)
	}
	msg = bytes.Replace(msg, []byte("<>"), []byte("<someone@example.net>"), 1)
	res, err = e.proc.Process(e.ctx, "keji+subscribe@news.example.org", msg)
	if err != nil || res.Action != ActionSubscribe || !res.Replied {
		t.Fatalf("ordinary Return-Path: %+v, %v; want answered", res, err)
	}
	res, err = e.proc.Process(e.ctx, e.verp(e.issue), e.fixture("exim-soft.eml"))
	if err != nil || res.Action != ActionBounce || res.Kind != KindSoft || res.SubscriberID != e.reader {
		t.Fatalf("bounce: %+v, %v", res, err)
	}
	if _, err := e.proc.Process(e.ctx, "news@news.example.org", msg); !errors.Is(err, ErrNotOurs) {
		t.Errorf("not a list address: err = %v, want ErrNotOurs", err)
	}
}
