package token_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/token"
)

func TestRoundTripAndRefusals(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := token.New([]byte("0123456789abcdef0123456789abcdef"))
	s.Now = func() time.Time { return now }
	other := token.New([]byte("another secret, another database"))

	conf := token.Claims{Purpose: token.Confirm, SubscriberID: 42, ListID: 3, Expires: now.Add(72 * time.Hour), Nonce: token.NewNonce()}
	tok := s.Sign(conf)
	if tok != strings.ToLower(tok) {
		t.Fatalf("token %q is not lower case", tok)
	}
	got, err := s.Verify(tok, token.Confirm)
	if err != nil || got.SubscriberID != 42 || got.ListID != 3 || len(got.Nonce) != 8 || !got.Expires.Equal(conf.Expires.Truncate(time.Second)) {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	// Case folding by an MTA must not break it.
	if _, err := s.Verify(strings.ToUpper(tok), token.Confirm); err != nil {
		t.Errorf("upper-cased token: %v", err)
	}

	bounce := s.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: 1_000_000, ListID: 12, IssueID: 5000})
	if n := len("bounces+" + bounce); n > 64 {
		t.Errorf("VERP local part is %d bytes, over 64", n)
	}

	flipped := []byte(tok)
	flipped[3] ^= 1
	cases := []struct {
		name string
		tok  string
		p    token.Purpose
		s    *token.Signer
		want error
	}{
		{"wrong purpose", tok, token.Unsubscribe, s, token.ErrInvalid},
		{"other secret", tok, token.Confirm, other, token.ErrInvalid},
		{"tampered", string(flipped), token.Confirm, s, token.ErrInvalid},
		{"truncated", tok[:len(tok)-2], token.Confirm, s, token.ErrInvalid},
		{"empty", "", token.Confirm, s, token.ErrInvalid},
		{"not base32", "hello-world!", token.Confirm, s, token.ErrInvalid},
	}
	for _, tc := range cases {
		if _, err := tc.s.Verify(tc.tok, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	now = now.Add(73 * time.Hour)
	if _, err := s.Verify(tok, token.Confirm); !errors.Is(err, token.ErrExpired) {
		t.Errorf("after expiry: err = %v", err)
	}
}
