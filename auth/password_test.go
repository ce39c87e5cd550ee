package auth

import (
	"strings"
	"testing"
)

// cheap keeps the tests fast; the parameters are what is under test, not
// their cost.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestPasswordHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery", "密码是一二三四五六", " leading and trailing "} {
		h, err := HashPassword(pw, cheap)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("hash %q: not a PHC argon2id string with its parameters", h)
		}
		ok, rehash, err := VerifyPassword(pw, h, cheap)
		if err != nil || !ok || rehash {
			t.Fatalf("verify own hash: ok=%v rehash=%v err=%v", ok, rehash, err)
		}
		ok, _, err = VerifyPassword(pw+"x", h, cheap)
		if err != nil || ok {
			t.Fatalf("wrong password accepted: ok=%v err=%v", ok, err)
		}
		h2, _ := HashPassword(pw, cheap)
		if h2 == h {
			t.Fatal("two hashes of one password are equal: salt not random")
		}
	}
}

func TestPasswordParameterUpgrade(t *testing.T) {
	old := Params{Memory: 32, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	h, err := HashPassword("s3cret-passw0rd", old)
	if err != nil {
		t.Fatal(err)
	}
	raised := Params{Memory: 64, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
	ok, rehash, err := VerifyPassword("s3cret-passw0rd", h, raised)
	if err != nil || !ok {
		t.Fatalf("a hash made with older parameters no longer verifies: ok=%v err=%v", ok, err)
	}
	if !rehash {
		t.Fatal("raised parameters did not ask for a re-hash")
	}
	if _, rehash, _ = VerifyPassword("s3cret-passw0rd", h, old); rehash {
		t.Fatal("same parameters asked for a re-hash")
	}
	// A wrong password never asks for a re-hash (that would store it).
	if ok, rehash, _ = VerifyPassword("wrong", h, raised); ok || rehash {
		t.Fatalf("wrong password: ok=%v rehash=%v", ok, rehash)
	}
}

func TestParseHashRefusesMalformed(t *testing.T) {
	good, _ := HashPassword("pw-pw-pw-pw", cheap)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":        "",
		"bcrypt":       "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":      strings.Replace(good, "argon2id", "argon2i", 1),
		"version":      strings.Replace(good, "v=19", "v=16", 1),
		"params":       strings.Replace(good, "m=64,t=1,p=1", "m=x,t=1,p=1", 1),
		"huge memory":  strings.Replace(good, "m=64", "m=99999999", 1),
		"zero time":    strings.Replace(good, "t=1", "t=0", 1),
		"salt":         strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":    strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra fields": good + "$x",
	} {
		if _, _, _, err := ParseHash(h); err == nil {
			t.Errorf("%s: %q accepted", name, h)
		}
		if ok, _, err := VerifyPassword("pw-pw-pw-pw", h, cheap); ok || err == nil {
			t.Errorf("%s: verify ok=%v err=%v", name, ok, err)
		}
	}
}

func TestSecretsAreRandomAndHashed(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("secrets %q %q: want two different 43-character base64url values", a, b)
	}
	if strings.ContainsAny(a, "+/=") {
		t.Fatalf("secret %q is not base64url without padding", a)
	}
	if h := HashSecret(a); len(h) != 32 || string(h) == a {
		t.Fatalf("hash of secret: %x", h)
	}
}

func BenchmarkHashPasswordDefault(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple", DefaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
