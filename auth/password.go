package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. Each hash records its own, so
// raising DefaultParams makes new hashes dearer while old ones still
// verify (and are re-hashed at the next sign-in).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// DefaultParams follow OWASP's argon2id recommendation (19 MiB, 2 passes,
// 1 lane): about 30 ms per hash on a small server, which bounds both the
// cost of a sign-in and the memory a burst of sign-ins can take.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

var b64 = base64.RawStdEncoding // PHC strings use unpadded standard base64

// slots bound the hashes computed at once: each takes Params.Memory (19
// MiB by default), so a burst of sign-ins queues here instead of taking
// the machine's memory.
var slots = make(chan struct{}, max(2, runtime.NumCPU()))

func idKey(pw, salt []byte, p Params) []byte {
	slots <- struct{}{}
	defer func() { <-slots }()
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// HashPassword hashes pw with p and returns the PHC string
// $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := idKey([]byte(pw), salt, p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ParseHash reads a PHC argon2id string back into its parameters, salt
// and key.
func ParseHash(phc string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: want $argon2id$v=…$m=…,t=…,p=…$salt$hash", ErrBadHash)
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: version %q, want v=%d", ErrBadHash, parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	// Bounds so a tampered row cannot make a sign-in allocate gigabytes.
	if p.Memory < 8 || p.Memory > 4<<20 || p.Time < 1 || p.Time > 64 || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", ErrBadHash, parts[3])
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, fmt.Errorf("%w: key", ErrBadHash)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches phc, comparing in constant
// time, and whether the hash was made with weaker parameters than want
// (then the caller should store a fresh hash of pw).
func VerifyPassword(pw, phc string, want Params) (ok, rehash bool, err error) {
	p, salt, key, err := ParseHash(phc)
	if err != nil {
		return false, false, err
	}
	got := idKey([]byte(pw), salt, p)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	rehash = p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads || p.KeyLen < want.KeyLen
	return true, rehash, nil
}

// dummies holds one hash per parameter set (Params → string), so the
// dummy costs what a real hash with the current parameters costs.
var dummies sync.Map

// VerifyDummy spends the time of one verification against a hash made
// with p and always fails: a sign-in for an unknown account, or one whose
// password is not set yet, takes as long as one with a wrong password.
func VerifyDummy(pw string, p Params) {
	h, ok := dummies.Load(p)
	if !ok {
		made, err := HashPassword("tidings dummy password", p)
		if err != nil {
			return // no randomness: nothing else works either
		}
		h, _ = dummies.LoadOrStore(p, made)
	}
	VerifyPassword(pw, h.(string), p)
}
