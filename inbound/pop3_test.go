package inbound

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/internal/testpeers"
)

var errCrash = errors.New("simulated crash before DELE")

func TestPOP3PollerAgainstMailpit(t *testing.T) {
	e := newEnv(t)
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{POP3User: "bounces", POP3Pass: "s3cret"})
	smtpAddr, pop3Addr := mp.SMTP, mp.POP3

	// Deliver the fixtures into the mailbox the way an MTA would.
	hard := e.fixture("postfix-hard.eml")
	// One bounce reached a plain mailbox address: only the message it
	// reports carries the VERP token.
	plain := bytes.Replace(e.fixture("gmail-soft.eml"), []byte("To: "+e.verp(e.issue)+"\n"), []byte("To: bounces@news.example.org\n"), 1)
	if bytes.Equal(plain, e.fixture("gmail-soft.eml")) {
		t.Fatal("fixture edit did not apply")
	}
	foreign := []byte("From: friend@example.net\r\nTo: bounces@news.example.org\r\nSubject: lunch?\r\nMessage-ID: <lunch@example.net>\r\n\r\nLunch on Friday?\r\n")
	for _, m := range []struct {
		to  string
		msg []byte
	}{
		{e.verp(e.issue), hard},
		{"bounces@news.example.org", plain},
		{"bounces@news.example.org", foreign},
		{e.verp(e.issue), e.fixture("out-of-office.eml")},
	} {
		if err := send(smtpAddr, "", []string{m.to}, m.msg); err != nil {
			t.Fatalf("deliver to mailpit: %v", err)
		}
	}

	mb, err := ParseMailbox("pop3://bounces:s3cret@" + pop3Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPoller(PollerConfig{Processor: e.proc, Mailbox: mb, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Poll 1 crashes after the first message's effect is committed and
	// before its DELE: nothing is deleted (the session never reaches QUIT).
	// Crash right after the first message that had an effect, whatever
	// its number (Mailpit lists the newest first).
	p.afterCommit = func(i int) error {
		if len(e.bounces()) > 0 {
			return errCrash
		}
		return nil
	}
	if _, err := p.Poll(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("poll 1: err = %v, want the simulated crash", err)
	}
	if got := e.bounces(); len(got) != 1 || got[0].Source != "pop3/dsn" {
		t.Fatalf("after poll 1: bounces = %+v, want one", got)
	}

	// Poll 2: the first message is recognised and only deleted now; the
	// others are processed; the foreign one is left alone.
	p.afterCommit = nil
	st, err := p.Poll(ctx)
	if err != nil {
		t.Fatalf("poll 2: %v", err)
	}
	// Messages before the crash point were processed but not deleted
	// either: they are duplicates now, as the hard bounce is.
	if st.Messages != 4 || st.Processed+st.Duplicates != 3 || st.Duplicates < 1 || st.Deleted != 3 || st.Foreign != 1 || st.Failed != 0 {
		t.Errorf("poll 2: %+v, want 4 messages, 3 processed or duplicates (at least the crashed one), 3 deleted, 1 foreign", st)
	}
	got := e.bounces()
	kinds := map[string]int{}
	for _, b := range got {
		if b.Issue == e.issue {
			kinds[b.Kind]++
		}
	}
	if len(got) != 2 || kinds[KindHard] != 1 || kinds[KindSoft] != 1 {
		t.Fatalf("after poll 2: bounces = %+v, want the hard bounce once and the soft one (found through the reported message), on issue %d", got, e.issue)
	}
	if st := e.status("reader@example.com"); st != "bounced" {
		t.Errorf("status = %s, want bounced", st)
	}

	// Poll 3: only the foreign message is left, and it is not fetched again.
	st, err = p.Poll(ctx)
	if err != nil {
		t.Fatalf("poll 3: %v", err)
	}
	if want := (PollStats{Messages: 1, Foreign: 1}); st != want {
		t.Errorf("poll 3: %+v, want %+v", st, want)
	}
	if n := len(e.bounces()); n != 2 {
		t.Errorf("%d bounces after poll 3, want 2", n)
	}

	// A wrong password is one clear error.
	bad := mb
	bad.Pass = "wrong"
	pb, _ := NewPoller(PollerConfig{Processor: e.proc, Mailbox: bad, Timeout: 10 * time.Second})
	if _, err := pb.Poll(ctx); err == nil || !errors.Is(err, ErrPOP3) {
		t.Errorf("wrong password: err = %v, want ErrPOP3", err)
	}
}

func TestParseMailbox(t *testing.T) {
	cases := []struct {
		in, host string
		tls      bool
		err      bool
	}{
		{"pop3s://u:p@mail.example.org", "mail.example.org:995", true, false},
		{"pop3://u:p@127.0.0.1:1110", "127.0.0.1:1110", false, false},
		{"pop3s://u:p%40x@mail.example.org:9955", "mail.example.org:9955", true, false},
		{"imap://u:p@mail.example.org", "", false, true},
		{"pop3s://mail.example.org", "", false, true},
		{"pop3s://u:p@", "", false, true},
		{"pop3://u:p@h?tls=maybe", "", false, true},
	}
	for _, tc := range cases {
		mb, err := ParseMailbox(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("ParseMailbox(%q): err = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err == nil && (mb.Host != tc.host || mb.TLS != tc.tls) {
			t.Errorf("ParseMailbox(%q) = %+v", tc.in, mb)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte(":p@")) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	mb, _ := ParseMailbox("pop3s://u:p%40x@mail.example.org")
	if mb.Pass != "p@x" || bytes.Contains([]byte(mb.String()), []byte("p@x")) {
		t.Errorf("password %q, String %q", mb.Pass, mb.String())
	}
}

func TestPOP3SAgainstMailpit(t *testing.T) {
	e := newEnv(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{POP3User: "bounces", POP3Pass: "s3cret",
		Extra: []string{"--pop3-tls-cert", certFile, "--pop3-tls-key", keyFile}})
	smtpAddr, pop3Addr := mp.SMTP, mp.POP3
	if err := send(smtpAddr, "", []string{e.verp(e.issue)}, e.fixture("microsoft-hard.eml")); err != nil {
		t.Fatal(err)
	}
	mb, err := ParseMailbox("pop3s://bounces:s3cret@" + pop3Addr)
	if err != nil {
		t.Fatal(err)
	}
	mb.TLSConf = &tls.Config{RootCAs: pool, ServerName: "mx.news.example.org"}
	p, err := NewPoller(PollerConfig{Processor: e.proc, Mailbox: mb, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (PollStats{Messages: 1, Processed: 1, Deleted: 1}); st != want {
		t.Errorf("poll: %+v, want %+v", st, want)
	}
	if got := e.bounces(); len(got) != 1 || got[0].Code != "5.1.10" {
		t.Errorf("bounces = %+v, want the Microsoft hard bounce", got)
	}
	// An untrusted certificate is refused before the password is sent.
	mb.TLSConf = nil
	p2, _ := NewPoller(PollerConfig{Processor: e.proc, Mailbox: mb, Timeout: 10 * time.Second})
	if _, err := p2.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("untrusted certificate: err = %v, want a TLS error", err)
	}
}
