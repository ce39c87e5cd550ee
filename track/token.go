package track

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"sync"
	"time"
)

// Kind is what a token is for. It is part of the signed bytes, so a
// click token cannot be turned into an open token or a honeypot one.
type Kind byte

const (
	Click    Kind = 'c' // an article link: redirect to its target
	Open     Kind = 'o' // the 1×1 image
	Honeypot Kind = 'h' // the hidden link no person reaches
)

func (k Kind) String() string {
	switch k {
	case Click:
		return "click"
	case Open:
		return "open"
	case Honeypot:
		return "honeypot"
	}
	return "unknown"
}

// flagTest marks a token of a test send: it works (redirects) but counts
// nothing, so an editor's proof copy does not skew the figures.
const flagTest = 0x80

// macLen is the truncated HMAC length: 80 bits is far beyond what an
// online guesser can try against one endpoint.
const macLen = 10

// maxToken bounds what Verify even looks at; a longer string is not ours.
const maxToken = 96

// ErrBadToken is any token that does not verify: unsigned, tampered,
// truncated or of another kind. Handlers answer 404 to it.
var ErrBadToken = errors.New("track: bad token")

// Ref is what one token names. Sent is when the message was composed
// (within seconds of its delivery); Nonce groups the events of one
// message and is random, never stored, and derivable from nothing about
// the reader. Subscriber is 0 unless the list tracks that kind per person.
type Ref struct {
	Kind       Kind
	Test       bool
	Issue      int64
	Position   int // article position, 0 for opens and the honeypot
	Link       int // 1-based link index in the article, 0 for opens and the honeypot
	Sent       time.Time
	Nonce      uint32
	TopicSet   uint64
	Subscriber int64
}

// Signer signs and verifies tracking tokens. Its key is derived from the
// database secret with its own label, so it is distinct from the reader
// tokens' key: no tracking token is a reader token and none can be made
// from one.
type Signer struct {
	key  []byte
	pool sync.Pool
}

// NewSigner derives the tracking key from the database secret.
func NewSigner(secret []byte) *Signer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("tidings/track/v1"))
	s := &Signer{key: m.Sum(nil)}
	s.pool.New = func() any { return &macState{h: hmac.New(sha256.New, s.key)} }
	return s
}

// macState is a keyed HMAC with scratch space, pooled so that signing a
// token (several per message sent) allocates nothing.
type macState struct {
	h   hash.Hash
	buf [128]byte
	sum [sha256.Size]byte
}

// mac appends the truncated MAC of payload to dst.
func (st *macState) mac(payload []byte, dst []byte) []byte {
	st.h.Reset()
	st.h.Write(payload)
	return append(dst, st.h.Sum(st.sum[:0])[:macLen]...)
}

// payload is the compact binary form of r: kind (with the test flag),
// then unsigned varints for issue, position, link, topic set and
// subscriber, and the 4-byte send time and nonce.
func appendPayload(b []byte, r *Ref) []byte {
	k := byte(r.Kind)
	if r.Test {
		k |= flagTest
	}
	b = append(b, k)
	b = binary.AppendUvarint(b, uint64(r.Issue))
	b = binary.AppendUvarint(b, uint64(r.Position))
	b = binary.AppendUvarint(b, uint64(r.Link))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Sent.Unix()))
	b = binary.BigEndian.AppendUint32(b, r.Nonce)
	b = binary.AppendUvarint(b, r.TopicSet)
	b = binary.AppendUvarint(b, uint64(r.Subscriber))
	return b
}

// Sign is r's token: base64url (no padding) of payload and MAC, about 35
// characters, so `{base}/c/{token}` stays well under 120.
func (s *Signer) Sign(r Ref) string {
	return string(s.AppendSign(nil, &r))
}

// AppendSign appends r's token to dst (no allocation besides growth).
func (s *Signer) AppendSign(dst []byte, r *Ref) []byte {
	st := s.pool.Get().(*macState)
	b := appendPayload(st.buf[:0], r)
	b = st.mac(b, b)
	dst = base64.RawURLEncoding.AppendEncode(dst, b)
	s.pool.Put(st)
	return dst
}

// Verify checks tok and that it is of kind want; it compares MACs in
// constant time and touches nothing but memory.
func (s *Signer) Verify(tok string, want Kind) (Ref, error) {
	r, err := s.verify(tok)
	if err != nil || r.Kind != want {
		return Ref{}, ErrBadToken
	}
	return r, nil
}

// verify checks tok's MAC and decodes it, of whatever kind.
func (s *Signer) verify(tok string) (Ref, error) {
	if len(tok) < 16 || len(tok) > maxToken {
		return Ref{}, ErrBadToken
	}
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	b, err := base64.RawURLEncoding.AppendDecode(st.buf[:0], []byte(tok))
	if err != nil || len(b) < macLen+1+3+8+2 {
		return Ref{}, ErrBadToken
	}
	payload, got := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(st.mac(payload, st.buf[len(b):len(b)]), got) {
		return Ref{}, ErrBadToken
	}
	r := Ref{Kind: Kind(payload[0] &^ flagTest), Test: payload[0]&flagTest != 0}
	p := payload[1:]
	next := func() uint64 {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			p = nil
			err = ErrBadToken
			return 0
		}
		p = p[n:]
		return v
	}
	r.Issue = int64(next())
	r.Position = int(next())
	r.Link = int(next())
	if err != nil || len(p) < 8 {
		return Ref{}, ErrBadToken
	}
	r.Sent = time.Unix(int64(binary.BigEndian.Uint32(p)), 0).UTC()
	r.Nonce = binary.BigEndian.Uint32(p[4:])
	p = p[8:]
	r.TopicSet = next()
	r.Subscriber = int64(next())
	if err != nil || len(p) != 0 || r.Issue <= 0 {
		return Ref{}, ErrBadToken
	}
	return r, nil
}
