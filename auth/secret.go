package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// TokenPrefix starts every API token, so a leaked one is recognisable in
// logs and by secret scanners.
const TokenPrefix = "tdg_"

// NewSecret is 32 random bytes, base64url without padding: a session id,
// a sign-in link value, or (after TokenPrefix) an API token.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret is what the database stores of a secret: a high-entropy
// value needs no salt or slow hash, and SHA-256 makes a stolen database
// useless for signing in.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
