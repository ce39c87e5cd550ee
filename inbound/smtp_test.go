package inbound

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// selfSigned writes a certificate for mx.news.example.org and its key to
// dir and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.news.example.org"},
		DNSNames: []string{"mx.news.example.org"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestSTARTTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	conf, err := LoadTLS(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.TLS = conf })
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if err := c.StartTLS(&tls.Config{ServerName: "mx.news.example.org", RootCAs: pool}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if st, ok := c.TLSConnectionState(); !ok || !st.HandshakeComplete {
		t.Fatal("no TLS after STARTTLS")
	}
	rc := e.verp(e.issue)
	if err := c.Mail(""); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rc); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(e.fixture("gmail-hard.eml"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	if st := e.status("reader@example.com"); st != tidings.StatusBounced {
		t.Errorf("status = %s, want bounced", st)
	}
	if _, err := LoadTLS(certFile, filepath.Join(t.TempDir(), "missing.pem")); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("missing key: err = %v, want one naming the certificate", err)
	}
}

func TestMaxConns(t *testing.T) {
	e := newEnv(t, func(_ *Config, s *ServerConfig) { s.MaxConns = 1 })
	greeting := func(c net.Conn, wait time.Duration) (string, error) {
		c.SetReadDeadline(time.Now().Add(wait))
		return bufio.NewReader(c).ReadString('\n')
	}
	a, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := greeting(a, 5*time.Second); err != nil || !strings.HasPrefix(g, "220") {
		t.Fatalf("first connection: %q, %v", g, err)
	}
	b, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// While the first session is open the second waits for its turn.
	br := bufio.NewReader(b)
	b.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if g, err := br.ReadString('\n'); err == nil {
		t.Fatalf("second connection greeted while the first is open: %q", g)
	} else if ne := (net.Error)(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("second connection: %v, want a wait", err)
	}
	a.Write([]byte("QUIT\r\n"))
	a.Close()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if g, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(g, "220") {
		t.Fatalf("second connection after the first closed: %q, %v", g, err)
	}
}

// TestPOP3Multiline checks dot-unstuffing and the size limit on the wire
// bytes RFC 1939 defines, including a line longer than the read buffer.
func TestPOP3Multiline(t *testing.T) {
	long := "." + strings.Repeat("x", 9000) // stuffed: starts with a dot
	cases := []struct {
		name, wire, want string
		max              int
		tooLarge         bool
	}{
		{"unstuffing", "..leading dot\r\nplain\r\n...\r\n.\r\n", ".leading dot\r\nplain\r\n..\r\n", 0, false},
		{"long line", "." + long + "\r\nend\r\n.\r\n", long + "\r\nend\r\n", 0, false},
		{"empty", ".\r\n", "", 0, false},
		{"too large", "0123456789\r\n0123456789\r\n.\r\n", "", 15, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli := net.Pipe()
			defer srv.Close()
			defer cli.Close()
			go func() { srv.Write([]byte(tc.wire + "+OK next\r\n")) }()
			pc := &pop3Conn{c: cli, r: bufio.NewReaderSize(cli, 4096), timeout: 5 * time.Second, maxSize: tc.max}
			got, err := pc.multiline()
			if tc.tooLarge {
				if !errors.Is(err, errTooLarge) {
					t.Fatalf("err = %v, want errTooLarge", err)
				}
			} else if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			// The session stays in step: the next reply is read as one.
			if r, err := pc.reply(); err != nil || r != "next" {
				t.Errorf("next reply: %q, %v", r, err)
			}
		})
	}
}
