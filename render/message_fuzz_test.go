package render

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// hostileSeeds are values a subscriber (name, address) or an editor
// (subject, list name) may type, chosen to break a naive header writer.
var hostileSeeds = []struct{ name, email, subject, listName, fromName string }{
	{"Ada", "ada@example.com", "Plain", "Lab Weekly", "Lab"},
	{strings.Repeat("a", 1200), "a@example.com", strings.Repeat("s", 1200), strings.Repeat("L", 1200), strings.Repeat("F", 1100)},
	{strings.Repeat("名", 400), "b@example.com", strings.Repeat("题", 400), strings.Repeat("科", 300), strings.Repeat("技", 300)},
	{"=?utf-8?b?SGk=?= x", "c@example.com", "=?utf-8?q?x?=", "=?utf-8?b?TA==?=", "=?x?"},
	{"x\r\nBcc: v@evil.example", "d@example.com", "s\r\n\r\nbody", "l\nX-A: 1", "f\rX-B: 2"},
	{`O'Brien, "Jr" <x@y> \ ;:`, "e@example.com", `"quoted" (comment) <angle>`, `a "b" \c`, `"F" <g>`},
	{"\x00\x01\x7f\ufffd\xff", "f@example.com", "\t\v\f", "\u2028\u2029", "\u0085"},
	{"", "bad address@example.com", "", "", ""},
	{"n", "a@b@example.com", "s", "l", "f"},
}

// FuzzWriteMessage: whatever names, subjects and addresses hold, a
// message is refused with ErrInvalid or is well-formed: every line under
// 998 bytes, CRLF only, exactly the headers we write (none injected),
// and names and subject decode back to their cleaned text.
func FuzzWriteMessage(f *testing.F) {
	for _, s := range hostileSeeds {
		f.Add(s.name, s.email, s.subject, s.listName, s.fromName)
	}
	f.Fuzz(func(t *testing.T, name, email, subject, listName, fromName string) {
		l := enList()
		l.Name = listName
		l.From = (&mail.Address{Name: fromName, Address: "weekly@lab.example.com"}).String()
		is := enIssue()
		is.Subject = subject
		e, err := testRenderer().Prepare(l, enTopics(), is)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Prepare: %v, want nil or ErrInvalid", err)
			}
			return
		}
		rc := tidings.Recipient{SubscriberID: 5, Email: email, Name: name, AllTopics: true}
		var b bytes.Buffer
		if _, err := e.WriteMessage(&b, rc, MessageOptions{}); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("WriteMessage: %v, want nil or ErrInvalid", err)
			}
			return
		}
		raw := b.Bytes()
		if !bytes.HasSuffix(raw, []byte("\r\n")) {
			t.Fatalf("message does not end in CRLF")
		}
		for i, line := range bytes.Split(raw[:len(raw)-2], []byte("\r\n")) {
			if len(line) >= 998 || bytes.ContainsAny(line, "\r\n\x00") {
				t.Fatalf("line %d: %d bytes, or a bare CR, LF or NUL: %.80q", i+1, len(line), line)
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"Content-Language", "Content-Type", "Date", "Feedback-Id", "From", "List-Archive", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
			"Message-Id", "Mime-Version", "Precedence", "Subject", "To"}
		if !slices.Equal(keys, want) {
			t.Fatalf("headers %v, want %v", keys, want)
		}
		for k, v := range m.Header {
			if len(v) != 1 {
				t.Fatalf("%d %s headers", len(v), k)
			}
		}
		dec := new(mime.WordDecoder)
		if got, err := dec.DecodeHeader(m.Header.Get("Subject")); err != nil || got != e.Subject() {
			t.Errorf("Subject decodes to %q (%v), want %q", got, err, e.Subject())
		}
		to, err := mail.ParseAddress(m.Header.Get("To"))
		if err != nil || to.Address != strings.TrimSpace(email) || to.Name != clean(name) {
			t.Errorf("To %q parses as %+v (%v); want %q <%s>", m.Header.Get("To"), to, err, clean(name), email)
		}
		if from, err := mail.ParseAddress(m.Header.Get("From")); err != nil || from.Address != "weekly@lab.example.com" {
			t.Errorf("From %q parses as %+v (%v)", m.Header.Get("From"), from, err)
		}
		if id, err := dec.DecodeHeader(m.Header.Get("List-Id")); err != nil || !strings.HasSuffix(id, "<weekly.lab.example.com>") {
			t.Errorf("List-Id %q decodes as %q (%v)", m.Header.Get("List-Id"), id, err)
		}
	})
}

// An encoded-word is at most 75 characters (RFC 2047) and never cuts a
// rune in two, so each decodes on its own.
func TestEncodeAllWords(t *testing.T) {
	for _, s := range []string{strings.Repeat("a", 200), strings.Repeat("名", 100), strings.Repeat("😀x", 50), "é"} {
		enc := encodeAll(s)
		var got strings.Builder
		for _, w := range strings.Split(enc, " ") {
			if len(w) > 75 {
				t.Errorf("encoded-word of %d characters: %s", len(w), w)
			}
			d, err := new(mime.WordDecoder).Decode(w)
			if err != nil || strings.ContainsRune(d, '\ufffd') {
				t.Errorf("word %s decodes to %q (%v)", w, d, err)
			}
			got.WriteString(d)
		}
		if got.String() != s {
			t.Errorf("encodeAll(%q) decodes to %q", s, got.String())
		}
	}
}

// Addresses go into headers and SMTP commands of 7-bit messages: 8-bit
// ones (which tidings.ParseEmail never produces) are refused, not written.
func TestCheckAddrASCII(t *testing.T) {
	for _, a := range []string{"josé@example.com", "a@exämple.com", "e@examp\x91\x91\x91com", "a\x7f@example.com", "d@example.", "d@.example.com", ".d@example.com", "d.@example.com", "d..e@example.com", "d@example..com"} {
		if err := checkAddr(a); !errors.Is(err, ErrInvalid) {
			t.Errorf("checkAddr(%q) = %v, want ErrInvalid", a, err)
		}
	}
	if err := checkAddr("o'brien+tag@xn--exmple-cua.com"); err != nil {
		t.Errorf("ASCII address refused: %v", err)
	}
}
