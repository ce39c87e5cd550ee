package tidings

import (
	"fmt"
	"net/mail"
	"strings"

	"golang.org/x/net/idna"
)

// Email is a validated subscriber address.
//
// Addr is what we send to: the local part exactly as given (mailbox case
// may matter to the receiving server) and the domain lower-cased in its
// ASCII (A-label, punycode) form. Key is the identity: the whole address
// lower-cased, so Foo@Example.COM and foo@example.com are one subscriber.
type Email struct {
	Addr string
	Key  string
}

func (e Email) String() string { return e.Addr }

// MaxEmailLen is the longest address SMTP can carry in a forward path
// (RFC 5321 §4.5.3.1.3: 256 bytes including the angle brackets).
const MaxEmailLen = 254

// emailProfile maps (case, full-width characters, the ideographic full
// stop 。) and validates IDN domains the way resolvers do (UTS #46 with the
// STD3 letter-digit-hyphen rule), then gives their A-label form.
var emailProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.Transitional(false),
	idna.StrictDomainName(true),
	idna.ValidateLabels(true),
)

// ParseEmail validates a bare address (no display name, no angle brackets)
// and returns its sending and identity forms.
//
// The syntax is RFC 5322's addr-spec as net/mail parses it, narrowed to what
// an SMTP relay and the mail library accept on the way out:
//   - the local part is an ASCII dot-atom; a quoted local part is accepted
//     only when its content is itself a dot-atom ("john"@x.org is john@x.org)
//     and is stored unquoted — quoted strings with spaces or specials are
//     refused, because net/mail unquotes them and the unquoted form is not
//     sendable;
//   - the domain is a host name with at least one dot (no IP literals, no
//     trailing dot); internationalised domains are converted to A-labels;
//   - at most 254 bytes before and after conversion, no CR/LF or other
//     control characters (header injection);
//   - full-width forms typed by Chinese input methods (＠, ．, 。, Ａ…)
//     are read as their ASCII counterparts.
func ParseEmail(s string) (Email, error) {
	bad := func(format string, a ...any) (Email, error) {
		return Email{}, fmt.Errorf("email %q: %s", s, fmt.Sprintf(format, a...))
	}
	in := strings.TrimSpace(strings.Map(narrow, s))
	if in == "" {
		return bad("empty address")
	}
	if strings.ContainsAny(in, "\r\n") {
		return bad("contains a line break")
	}
	for _, r := range in {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	if len(in) > MaxEmailLen {
		return bad("%d bytes long, at most %d allowed", len(in), MaxEmailLen)
	}
	if strings.ContainsAny(in, "<>(),;") {
		return bad("want a bare address like name@example.org, without display name, brackets or comments")
	}
	// net/mail refuses a trailing dot with a puzzling message; say it plainly.
	if strings.HasSuffix(in, ".") {
		return bad("domain ends with a dot")
	}
	a, err := mail.ParseAddress(in)
	if err != nil {
		return bad("not an address (%v)", strings.TrimPrefix(err.Error(), "mail: "))
	}
	if a.Name != "" {
		return bad("want a bare address without display name")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 0 {
		return bad("missing @")
	}
	local, domain := a.Address[:at], a.Address[at+1:]
	if strings.HasPrefix(in, `"`) && !isDotAtom(local) {
		return bad("quoted local part with spaces or special characters is not supported")
	}
	if err := checkLocal(local); err != nil {
		return bad("%v", err)
	}
	ascii, err := checkDomain(domain)
	if err != nil {
		return bad("%v", err)
	}
	addr := local + "@" + ascii
	if len(addr) > MaxEmailLen {
		return bad("%d bytes long once the domain is encoded, at most %d allowed", len(addr), MaxEmailLen)
	}
	return Email{Addr: addr, Key: strings.ToLower(addr)}, nil
}

// narrow maps full-width ASCII (Ｕ+FF01–FF5E) and the ideographic full stop
// to ASCII: Chinese input methods produce them easily (li＠example。com),
// and in an address they can only be typing accidents.
func narrow(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFF01 + '!'
	case r == 0x3000: // ideographic space
		return ' '
	case r == '。' || r == 0xFF61: // ideographic and half-width full stops
		return '.'
	}
	return r
}

func checkLocal(local string) error {
	switch {
	case local == "":
		return fmt.Errorf("empty local part")
	case len(local) > 64:
		return fmt.Errorf("local part is %d bytes long, at most 64 allowed", len(local))
	}
	for i := 0; i < len(local); i++ {
		if local[i] >= 0x80 {
			return fmt.Errorf("local part must be ASCII (internationalised mailboxes are not supported)")
		}
	}
	if !isDotAtom(local) {
		return fmt.Errorf("local part %q is not a dot-atom (quoted, or dots at the ends or doubled)", local)
	}
	return nil
}

// isDotAtom reports whether s is atext runs separated by single dots
// (RFC 5322 §3.2.3), the only local-part form every relay accepts.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func checkDomain(domain string) (string, error) {
	switch {
	case domain == "":
		return "", fmt.Errorf("empty domain")
	case strings.HasPrefix(domain, "["):
		return "", fmt.Errorf("IP address literals are not supported")
	case strings.HasSuffix(domain, "."):
		return "", fmt.Errorf("domain %q ends with a dot", domain)
	}
	ascii, err := emailProfile.ToASCII(domain)
	if err != nil {
		return "", fmt.Errorf("domain %q: %v", domain, strings.TrimPrefix(err.Error(), "idna: "))
	}
	ascii = strings.ToLower(ascii)
	if !strings.Contains(ascii, ".") {
		return "", fmt.Errorf("domain %q has no dot", domain)
	}
	if len(ascii) > 253 {
		return "", fmt.Errorf("domain is %d bytes long, at most 253 allowed", len(ascii))
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("domain %q has an empty or over-long label", domain)
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return "", fmt.Errorf("domain %q looks like an IP address", domain)
	}
	return ascii, nil
}
