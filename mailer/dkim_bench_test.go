package mailer

import (
	"bytes"
	"testing"

	"github.com/tidings/tidings"
)

// BenchmarkDKIMSign is the cost of signing one message of the sample
// issue (as rendered for a reader of every topic): with RSA-2048 it is
// most of a message's CPU, with Ed25519 a small part.
//
//	go test -run x -bench DKIMSign ./mailer/
func BenchmarkDKIMSign(b *testing.B) {
	f := newSampleFixture(b, 1)
	var msg bytes.Buffer
	if _, err := f.camp.Composer.Compose(&msg, tidings.Recipient{SubscriberID: 1, Email: "a@example.com", AllTopics: true}, ComposeOptions{}); err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{"rsa", "ed25519"} {
		b.Run(kind, func(b *testing.B) {
			pemKey, _, err := GenerateDKIMKey(kind)
			if err != nil {
				b.Fatal(err)
			}
			k, err := ListDKIM("s1", string(pemKey))
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			b.SetBytes(int64(msg.Len()))
			for b.Loop() {
				out.Reset()
				if err := k.sign(&out, msg.Bytes(), "example.org"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
