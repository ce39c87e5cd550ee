package mailer

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// ErrBadKey reports a DKIM key file that cannot be used.
var ErrBadKey = errors.New("bad dkim key")

// SignedHeaders are the header fields every signature covers. Mailbox
// providers want List-Unsubscribe and List-Unsubscribe-Post signed
// (RFC 8058) and Feedback-ID too. A field absent from a message is still
// listed, which stops anyone from adding it later without breaking the
// signature.
var SignedHeaders = []string{
	"From", "To", "Subject", "Reply-To", "Date", "Message-ID", "List-Id",
	"List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID",
	"MIME-Version", "Content-Type",
}

// OverSigned are the fields listed in h= once more than they occur
// (RFC 6376 §8.15): a verifier takes instances from the bottom up, so
// without the extra entry a second Subject or List-Unsubscribe prepended
// above the signed one would still verify, and many mail readers show the
// top one.
var OverSigned = []string{
	"From", "Subject", "To", "Reply-To",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
}

// headerKeys is h= for msg: each of SignedHeaders as often as it occurs
// (at least once), the OverSigned ones once more.
func headerKeys(msg []byte) []string {
	count := map[string]int{}
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		line := msg
		if i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // folded continuation
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			count[strings.ToLower(string(bytes.TrimSpace(line[:c])))]++
		}
	}
	over := map[string]bool{}
	for _, h := range OverSigned {
		over[h] = true
	}
	var keys []string
	for _, h := range SignedHeaders {
		n := max(count[strings.ToLower(h)], 1)
		if over[h] {
			n = count[strings.ToLower(h)] + 1
		}
		for range n {
			keys = append(keys, h)
		}
	}
	return keys
}

// DKIM signs outgoing mail. go-mail's own signer breaks long h= tags
// (REFERENCE.md), so signing is done here with go-msgauth over the
// finished bytes.
type DKIM struct {
	Selector string
	Signer   crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
	// Domain is the d= tag; empty means the list's From domain.
	Domain string
}

// LoadDKIM reads a PEM private key (PKCS #8, or PKCS #1 for RSA).
func LoadDKIM(path, selector string) (*DKIM, error) {
	if selector == "" {
		return nil, fmt.Errorf("%w %s: a DKIM key needs a selector (--dkim-selector)", ErrBadKey, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dkim key: %w", err)
	}
	k, err := ParseDKIMKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &DKIM{Selector: selector, Signer: k}, nil
}

// ListDKIM is a list's own key as stored in the database (PEM text and
// selector); nil, nil when the list has none.
func ListDKIM(selector, pemKey string) (*DKIM, error) {
	if pemKey == "" && selector == "" {
		return nil, nil
	}
	if selector == "" || pemKey == "" {
		return nil, fmt.Errorf("%w: a list's DKIM key needs both a key and a selector", ErrBadKey)
	}
	k, err := ParseDKIMKey([]byte(pemKey))
	if err != nil {
		return nil, err
	}
	return &DKIM{Selector: selector, Signer: k}, nil
}

// Fingerprint names the key without revealing it: "sha256:" and the
// first 16 hex digits of the hash of the public key's DER encoding.
func (k *DKIM) Fingerprint() string {
	der, err := x509.MarshalPKIXPublicKey(k.Signer.Public())
	if err != nil {
		return "sha256:?"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// ParseDKIMKey decodes a PEM private key for DKIM: RSA (at least 1024
// bits; 2048 recommended) or Ed25519.
func ParseDKIMKey(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrBadKey)
	}
	var key any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrBadKey, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, fmt.Errorf("%w: RSA key of %d bits; mailbox providers want at least 1024", ErrBadKey, k.N.BitLen())
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: unsupported key type %T (want RSA or Ed25519)", ErrBadKey, key)
}

// GenerateDKIMKey makes a new key ("rsa" = 2048-bit RSA, or "ed25519")
// and returns it as PKCS #8 PEM with the DNS TXT record value to publish.
func GenerateDKIMKey(kind string) (pemBytes []byte, txt string, err error) {
	var key crypto.Signer
	switch strings.ToLower(kind) {
	case "", "rsa":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, "", fmt.Errorf("%w: key type %q: want rsa or ed25519", ErrBadKey, kind)
	}
	if err != nil {
		return nil, "", fmt.Errorf("generate dkim key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", fmt.Errorf("encode dkim key: %w", err)
	}
	txt, err = DKIMRecord(key)
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), txt, nil
}

// DKIMRecord is the TXT record value ("v=DKIM1; k=…; p=…") for key.
func DKIMRecord(key crypto.Signer) (string, error) {
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("encode dkim public key: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		// RFC 8463: the raw 32-byte key, not a SubjectPublicKeyInfo.
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", fmt.Errorf("%w: unsupported key type %T", ErrBadKey, key)
}

// ZoneLine formats the record for a zone file: long values are split
// into quoted strings of at most 255 bytes, as DNS requires.
func ZoneLine(selector, domain, txt string) string {
	name := selector + "._domainkey"
	if domain != "" {
		name += "." + strings.TrimSuffix(domain, ".") + "."
	}
	var parts []string
	for len(txt) > 255 {
		parts = append(parts, `"`+txt[:255]+`"`)
		txt = txt[255:]
	}
	parts = append(parts, `"`+txt+`"`)
	return name + " IN TXT ( " + strings.Join(parts, " ") + " )"
}

// sign writes the DKIM-Signature field for msg followed by msg into dst.
// domain is used when k.Domain is empty.
func (k *DKIM) sign(dst *bytes.Buffer, msg []byte, domain string) error {
	d := k.Domain
	if d == "" {
		d = domain
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 d,
		Selector:               k.Selector,
		Signer:                 k.Signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             headerKeys(msg),
	})
	if err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	if _, err := s.Write(msg); err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("dkim: %w", err)
	}
	dst.WriteString(s.Signature())
	dst.Write(msg)
	return nil
}
