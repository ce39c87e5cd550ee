package mailer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

func TestParseRelayURL(t *testing.T) {
	good := []struct {
		in   string
		want Relay
	}{
		{"smtp://mail.example.org", Relay{Host: "mail.example.org", Port: 25, TLS: TLSOpportunistic}},
		{"smtps://u:p@mail.example.org", Relay{Host: "mail.example.org", Port: 465, User: "u", Password: "p", TLS: TLSImplicit}},
		{"smtp://u:p%40ss@mail.example.org:587?tls=required&conns=3&rate=2.5&hourly=1000&helo=out.example.org&auth=login",
			Relay{Host: "mail.example.org", Port: 587, User: "u", Password: "p@ss", TLS: TLSRequired, Conns: 3, Rate: 2.5, Hourly: 1000, Helo: "out.example.org", Auth: "login"}},
		{"smtp://127.0.0.1:2525?tls=none", Relay{Host: "127.0.0.1", Port: 2525, TLS: TLSNone}},
		{"smtp://u:p@localhost:2525?tls=none", Relay{Host: "localhost", Port: 2525, User: "u", Password: "p", TLS: TLSNone}},
		{"smtp://[::1]:25?tls_verify=false", Relay{Host: "::1", Port: 25, TLS: TLSOpportunistic, InsecureSkipVerify: true}},
	}
	for _, tc := range good {
		got, err := ParseRelayURL(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
	bad := []struct{ in, why string }{
		{"http://mail.example.org", "scheme"},
		{"smtp://", "no host"},
		{"smtp://h:99999", "port"},
		{"smtp://h?tls=maybe", "tls="},
		{"smtp://h?conns=-1", "conns="},
		{"smtp://h?rate=fast", "rate="},
		{"smtp://h?hourly=x", "hourly="},
		{"smtp://h?auth=cram-md5", "auth="},
		{"smtp://h?colour=blue", "unknown parameter"},
		{"smtps://h?tls=none", "contradicts"},
		{"smtp://user:hunter2@mail.example.org?tls=none", "cleartext"},
		{"smtp://user:hunter2@mail.example.org/path", "path"},
		{"smtp://user:hunter2@%zz", "not a URL"},
	}
	for _, tc := range bad {
		_, err := ParseRelayURL(tc.in)
		if err == nil || !errors.Is(err, ErrBadRelay) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: err %v, want one about %q", tc.in, err, tc.why)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: password in error %q", tc.in, err)
		}
	}
	rs, err := ParseRelayURLs([]string{"smtp://a:1@h1 smtps://h2", "smtp://h3"})
	if err != nil || len(rs) != 3 || rs[1].TLS != TLSImplicit {
		t.Errorf("ParseRelayURLs: %v %+v", err, rs)
	}
	r, _ := ParseRelayURL("smtp://user:hunter2@mail.example.org:587")
	for _, s := range []string{r.Redacted(), r.String()} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "user:xxxxx@mail.example.org:587") {
			t.Errorf("redacted form %q", s)
		}
	}
}

func TestClassify(t *testing.T) {
	reply := func(stage string, code int, msg string) error {
		return &smtpError{Stage: stage, Err: &textproto.Error{Code: code, Msg: msg}}
	}
	cases := []struct {
		name                         string
		err                          error
		kind                         FailKind
		thr, down, broken, reconnect bool
	}{
		{"greeting 421", reply(stageGreeting, 421, "4.3.2 not now"), KindTemporary, false, true, false, true},
		{"dial refused", &smtpError{stageConnect, errors.New("connection refused")}, KindTemporary, false, true, false, true},
		{"auth 535", reply(stageAuth, 535, "5.7.8 bad credentials"), KindServer, false, false, true, true},
		{"auth 454", reply(stageAuth, 454, "4.7.0 temporary auth failure"), KindTemporary, false, true, false, true},
		{"starttls failure", &smtpError{stageTLS, errors.New("x509: unknown authority")}, KindServer, false, false, true, true},
		{"smtps handshake failure", &smtpError{stageImplicit, errors.New("tls: first record does not look like a TLS handshake")}, KindServer, false, false, true, true},
		{"sender refused", reply(stageMail, 550, "5.7.1 sender not allowed"), KindServer, false, false, true, false},
		{"rcpt 451", reply(stageRcpt, 451, "4.3.0 later"), KindTemporary, false, false, false, false},
		{"rcpt 451 4.7 throttles", reply(stageRcpt, 451, "4.7.0 slow down"), KindTemporary, true, false, false, false},
		{"ses throttling text", reply(stageData, 454, "Throttling failure: Maximum sending rate exceeded."), KindTemporary, true, false, false, false},
		{"450 rate limit text", reply(stageRcpt, 450, "4.2.1 rate limit exceeded for this account"), KindTemporary, true, false, false, false},
		{"421 mid-session", reply(stageRcpt, 421, "4.7.0 too many"), KindTemporary, true, false, false, true},
		{"452", reply(stageRcpt, 452, "4.5.3 too many recipients"), KindTemporary, false, false, false, false},
		{"550 5.1.1", reply(stageRcpt, 550, "5.1.1 user unknown"), KindRecipient, false, false, false, false},
		{"550 no enhanced code at rcpt", reply(stageRcpt, 550, "mailbox unavailable"), KindRecipient, false, false, false, false},
		{"5.2.1 disabled", reply(stageData, 550, "5.2.1 mailbox disabled"), KindRecipient, false, false, false, false},
		{"5.1.8 is the sender's", reply(stageRcpt, 553, "5.1.8 bad sender domain"), KindPermanent, false, false, false, false},
		{"554 content", reply(stageData, 554, "5.6.0 content rejected"), KindPermanent, false, false, false, false},
		{"timeout mid-data", &smtpError{stageData, &net.OpError{Op: "read", Err: errors.New("i/o timeout")}}, KindTemporary, false, true, false, true},
		{"refusal before auth", &smtpError{stageAuth, refusal{"cleartext"}}, KindServer, false, false, true, true},
	}
	for _, tc := range cases {
		v := classify(tc.err)
		if v.kind != tc.kind || v.throttle != tc.thr || v.relayDown != tc.down || v.broken != tc.broken || v.reconnect != tc.reconnect {
			t.Errorf("%s: %+v", tc.name, v)
		}
	}
	if v := classify(reply(stageRcpt, 550, "5.1.1 user unknown")); v.enhanced != "5.1.1" || v.code != 550 || v.reply != "550 5.1.1 user unknown" {
		t.Errorf("reply details: %+v", v)
	}
}

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func TestSTARTTLSAndAuth(t *testing.T) {
	srvTLS, roots := selfSigned(t)
	sink := startSink(t, smtpsink.Options{TLS: srvTLS, Users: map[string]string{"u": "pw"}})
	r, err := ParseRelayURL("smtp://u:pw@" + sink.Addr + "?tls=required")
	if err != nil {
		t.Fatal(err)
	}
	r.TLSConfig = &tls.Config{RootCAs: roots}
	if err := NewOneOff([]Relay{r}, OneOffOptions{}).SendMail(testCtx(t), "a@example.org", []string{"b@example.com"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	if m := sink.Messages(); len(m) != 1 || m[0].User != "u" {
		t.Fatalf("messages %+v", m)
	}
	// An untrusted certificate is a TLS failure, reported without the password.
	r.TLSConfig = nil
	err = NewOneOff([]Relay{r}, OneOffOptions{}).SendMail(testCtx(t), "a@example.org", []string{"b@example.com"}, []byte("Subject: x\r\n\r\nhi\r\n"))
	if err == nil || !strings.Contains(err.Error(), "starttls") || strings.Contains(err.Error(), "pw@") {
		t.Errorf("untrusted certificate: %v", err)
	}
}

func TestTLSRequiredWithoutSTARTTLSPauses(t *testing.T) {
	f := newFixture(t, 4)
	sink := startSink(t, smtpsink.Options{})
	r, _ := ParseRelayURL("smtp://" + sink.Addr + "?tls=required")
	rep, err := f.engine(fastConfig(r)).Send(testCtx(t), f.issueID, SendOptions{})
	if !errors.Is(err, ErrPaused) || !strings.Contains(rep.Reason, "STARTTLS") || sink.Count() != 0 {
		t.Fatalf("err %v reason %q sink %d", err, rep.Reason, sink.Count())
	}
}

func TestOneOffFailsOverAndRejects(t *testing.T) {
	down := startSink(t, smtpsink.Options{OnConnect: func() error { return smtpsink.Reply(421, "4.3.2", "busy") }})
	up := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == "nobody@example.com" {
			return smtpsink.Reply(550, "5.1.1", "no such user")
		}
		return nil
	}})
	s := NewOneOff([]Relay{sinkRelay(t, down), sinkRelay(t, up)}, OneOffOptions{})
	msg := []byte("Subject: hi\r\n\r\nhello\r\n")
	if err := s.SendMail(testCtx(t), "news@example.org", []string{"a@example.com"}, msg); err != nil {
		t.Fatal(err)
	}
	if up.Count() != 1 || down.Count() != 0 {
		t.Errorf("up %d down %d", up.Count(), down.Count())
	}
	err := s.SendMail(testCtx(t), "news@example.org", []string{"nobody@example.com"}, msg)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "5.1.1") {
		t.Errorf("rejected: %v", err)
	}
	if err := NewOneOff(nil, OneOffOptions{}).SendMail(testCtx(t), "a@b.org", []string{"c@d.org"}, msg); !errors.Is(err, ErrNoRelay) {
		t.Errorf("no relay: %v", err)
	}
}
