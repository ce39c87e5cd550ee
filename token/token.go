// Package token makes and checks the opaque tokens in reader links and
// VERP addresses: HMAC-SHA256 over a compact payload, truncated to 128 bits,
// keyed by the secret the database generates at first open.
//
// Tokens are stateless so a link in a mail sent years ago still works and
// nothing secret is stored per message; single-use tokens (confirmation)
// carry a nonce that the caller records as spent. They are lower-case
// base32 so they survive MTAs that fold the case of local parts.
package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Purpose scopes a token: a preferences token cannot unsubscribe, etc.
type Purpose byte

const (
	Unsubscribe Purpose = 1 + iota // one-click and mailto unsubscribe
	Preferences                    // the preference centre
	Confirm                        // double opt-in; expires, single use
	Bounce                         // VERP return path: subscriber + issue
	Manage                         // "manage my subscription" mail (already confirmed)
)

func (p Purpose) String() string {
	switch p {
	case Unsubscribe:
		return "unsubscribe"
	case Preferences:
		return "preferences"
	case Confirm:
		return "confirm"
	case Bounce:
		return "bounce"
	case Manage:
		return "manage"
	}
	return fmt.Sprintf("purpose(%d)", byte(p))
}

var (
	ErrInvalid = errors.New("invalid token") // forged, truncated or for another purpose
	ErrExpired = errors.New("expired token")
)

// Claims is what a token says.
type Claims struct {
	Purpose      Purpose
	SubscriberID int64
	ListID       int64
	IssueID      int64     // Bounce tokens; 0 otherwise
	Expires      time.Time // zero: never
	Nonce        []byte    // single-use tokens; nil otherwise
}

// Signer signs and verifies tokens with one secret.
type Signer struct {
	key []byte
	Now func() time.Time
}

// New makes a Signer; secret is db.Secret (32 random bytes).
func New(secret []byte) *Signer {
	return &Signer{key: append([]byte(nil), secret...), Now: time.Now}
}

const macLen = 16 // 128 bits

var enc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewNonce returns 8 random bytes for a single-use token.
func NewNonce() []byte {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

// Sign encodes c. The payload is varints, so a VERP token stays short
// enough for the 64-byte limit of a local part.
func (s *Signer) Sign(c Claims) string {
	var p []byte
	p = append(p, byte(c.Purpose))
	p = binary.AppendUvarint(p, uint64(c.SubscriberID))
	p = binary.AppendUvarint(p, uint64(c.ListID))
	p = binary.AppendUvarint(p, uint64(c.IssueID))
	var exp uint64
	if !c.Expires.IsZero() {
		exp = uint64(c.Expires.Unix())
	}
	p = binary.AppendUvarint(p, exp)
	p = append(p, byte(len(c.Nonce)))
	p = append(p, c.Nonce...)
	p = append(p, s.mac(p)...)
	return strings.ToLower(enc.EncodeToString(p))
}

func (s *Signer) mac(p []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("tidings-token-v1\x00"))
	h.Write(p)
	return h.Sum(nil)[:macLen]
}

// Verify checks tok's signature, purpose and expiry.
func (s *Signer) Verify(tok string, want Purpose) (Claims, error) {
	raw, err := enc.DecodeString(strings.ToUpper(strings.TrimSpace(tok)))
	if err != nil || len(raw) < 1+macLen {
		return Claims{}, ErrInvalid
	}
	p, mac := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	if !hmac.Equal(mac, s.mac(p)) {
		return Claims{}, ErrInvalid
	}
	c := Claims{Purpose: Purpose(p[0])}
	r := bytes.NewReader(p[1:])
	var v [4]uint64
	for i := range v {
		if v[i], err = binary.ReadUvarint(r); err != nil {
			return Claims{}, ErrInvalid
		}
	}
	c.SubscriberID, c.ListID, c.IssueID = int64(v[0]), int64(v[1]), int64(v[2])
	if v[3] != 0 {
		c.Expires = time.Unix(int64(v[3]), 0).UTC()
	}
	n, err := r.ReadByte()
	if err != nil || int(n) != r.Len() {
		return Claims{}, ErrInvalid
	}
	if n > 0 {
		c.Nonce = make([]byte, n)
		r.Read(c.Nonce)
	}
	if c.Purpose != want {
		return Claims{}, ErrInvalid
	}
	if !c.Expires.IsZero() && !s.Now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}
