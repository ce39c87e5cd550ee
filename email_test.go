package tidings

import (
	"strings"
	"testing"

	gomail "github.com/wneessen/go-mail"
)

func TestParseEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 50) + ".example.com"
	if len(long) <= MaxEmailLen {
		t.Fatalf("test address is only %d bytes", len(long))
	}
	exact := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 57) + ".org"
	if len(exact) != MaxEmailLen {
		t.Fatalf("exact address is %d bytes", len(exact))
	}
	tests := []struct {
		name    string
		in      string
		addr    string // want, when valid
		key     string
		wantErr string // substring of the error, when invalid
	}{
		{name: "plain", in: "li.lei@example.com", addr: "li.lei@example.com", key: "li.lei@example.com"},
		{name: "surrounding space trimmed", in: "  a@example.com\t", addr: "a@example.com", key: "a@example.com"},
		{name: "domain lower-cased, local kept", in: "Foo.Bar@Example.COM", addr: "Foo.Bar@example.com", key: "foo.bar@example.com"},
		{name: "plus addressing", in: "han+news@example.org", addr: "han+news@example.org", key: "han+news@example.org"},
		{name: "atext specials", in: "o'brien_x-1=y@mail.example.co.uk", addr: "o'brien_x-1=y@mail.example.co.uk", key: "o'brien_x-1=y@mail.example.co.uk"},
		{name: "quoted dot-atom stored unquoted", in: `"john.doe"@example.com`, addr: "john.doe@example.com", key: "john.doe@example.com"},
		{name: "IDN domain to punycode", in: "wang@例子.中国", addr: "wang@xn--fsqu00a.xn--fiqs8s", key: "wang@xn--fsqu00a.xn--fiqs8s"},
		{name: "IDN upper case and ideographic full stop", in: "Wang@Bücher。DE", addr: "Wang@xn--bcher-kva.de", key: "wang@xn--bcher-kva.de"},
		{name: "full-width forms from a Chinese IME", in: "Ｌｉ＿lei＠example。ＣＯＭ", addr: "Li_lei@example.com", key: "li_lei@example.com"},
		{name: "ideographic space trimmed", in: "\u3000a@example.com\u3000", addr: "a@example.com", key: "a@example.com"},
		{name: "already punycode", in: "x@XN--BCHER-KVA.de", addr: "x@xn--bcher-kva.de", key: "x@xn--bcher-kva.de"},
		{name: "254 bytes is fine", in: exact, addr: exact, key: exact},

		{name: "empty", in: "", wantErr: "empty address"},
		{name: "blank", in: "   ", wantErr: "empty address"},
		{name: "quoted with space", in: `"john doe"@example.com`, wantErr: "quoted local part"},
		{name: "quoted with at sign", in: `"a@b"@example.com`, wantErr: "quoted local part"},
		{name: "trailing dot", in: "a@example.com.", wantErr: "ends with a dot"},
		{name: "trailing ideographic full stop", in: "a@例子.中国。", wantErr: "ends with a dot"},
		{name: "CRLF injection", in: "a@example.com\r\nBcc: victim@example.org", wantErr: "line break"},
		{name: "LF alone", in: "a@exa\nmple.com", wantErr: "line break"},
		{name: "NUL", in: "a\x00@example.com", wantErr: "control character"},
		{name: "255 bytes", in: long, wantErr: "at most 254"},
		{name: "display name", in: "Li Lei <li@example.com>", wantErr: "without display name"},
		{name: "angle brackets", in: "<li@example.com>", wantErr: "without display name"},
		{name: "two addresses", in: "a@example.com,b@example.com", wantErr: "without display name"},
		{name: "no at", in: "example.com", wantErr: "not an address"},
		{name: "no domain dot", in: "root@localhost", wantErr: "has no dot"},
		{name: "IP literal", in: "a@[192.0.2.1]", wantErr: "IP address literals"},
		{name: "dotted quad", in: "a@192.0.2.1", wantErr: "looks like an IP"},
		{name: "double dot local", in: "a..b@example.com", wantErr: "example.com"},
		{name: "leading dot local", in: ".a@example.com", wantErr: "example.com"},
		{name: "non-ASCII local part", in: "李雷@example.com", wantErr: "must be ASCII"},
		{name: "underscore in domain", in: "a@ex_ample.com", wantErr: "domain"},
		{name: "empty label", in: "a@example..com", wantErr: "example..com"},
		{name: "local part 65 bytes", in: strings.Repeat("x", 65) + "@example.com", wantErr: "at most 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEmail(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseEmail(%q) = %+v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseEmail(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				// The message names the input, so a line of a CSV report is
				// understandable on its own.
				if !strings.Contains(err.Error(), "email ") {
					t.Errorf("error %q does not name the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseEmail(%q): %v", tt.in, err)
			}
			if got.Addr != tt.addr || got.Key != tt.key {
				t.Fatalf("ParseEmail(%q) = %+v, want Addr %q Key %q", tt.in, got, tt.addr, tt.key)
			}
			// Whatever we accept must parse again to itself: it is what the
			// mailer hands to net/mail-based libraries.
			again, err := ParseEmail(got.Addr)
			if err != nil || again != got {
				t.Fatalf("re-parse of %q = %+v, %v", got.Addr, again, err)
			}
			// And the mail library must take it as a recipient.
			if err := gomail.NewMsg().To(got.Addr); err != nil {
				t.Fatalf("go-mail To(%q): %v", got.Addr, err)
			}
		})
	}
}

// FuzzParseEmail: whatever is accepted is short, free of control
// characters, its own canonical form, and taken by the mail library.
func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"li.lei@example.com", "Foo@Example.COM", `"john.doe"@example.com`, "wang@例子.中国",
		"Ｌｉ＿lei＠example。ＣＯＭ", "a@example.com\r\nBcc: x@y.org", "a@[192.0.2.1]", `"a b"@example.com`, "a@b.c.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEmail(s)
		if err != nil {
			return
		}
		if len(e.Addr) > MaxEmailLen || strings.ContainsFunc(e.Addr, func(r rune) bool { return r < 0x21 || r >= 0x7f }) {
			t.Fatalf("ParseEmail(%q) accepted %q", s, e.Addr)
		}
		if e.Key != strings.ToLower(e.Addr) {
			t.Fatalf("key %q of %q", e.Key, e.Addr)
		}
		if again, err := ParseEmail(e.Addr); err != nil || again != e {
			t.Fatalf("ParseEmail(%q) = %+v, re-parse %+v, %v", s, e, again, err)
		}
		if err := gomail.NewMsg().To(e.Addr); err != nil {
			t.Fatalf("go-mail refuses %q (from %q): %v", e.Addr, s, err)
		}
	})
}
