package render

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"html"
	"io"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/token"
)

// foldAt is where header lines are folded when a space allows it
// (RFC 5322 recommends 78; 998 is the hard limit).
const foldAt = 78

// clean makes s safe for a header: control characters (CR and LF above
// all, which would start a new header) become spaces, and runs of white
// space collapse, so no data can add a header or end the header block.
func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) < 0 && !strings.Contains(s, "  ") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
}

// checkAddr accepts a bare addr-spec that is safe to put in a header
// and an SMTP command: one @, no white space, controls, quotes, brackets
// or separators, a non-empty local part and a dotted-or-local domain,
// all ASCII: the messages are 7-bit (no SMTPUTF8), as tidings.ParseEmail
// already demands of subscribers, so an 8-bit address here is bad data.
func checkAddr(a string) error {
	at := strings.LastIndexByte(a, '@')
	if a == "" || at <= 0 || at == len(a)-1 || len(a) > 254 {
		return fmt.Errorf("%w: address %q: want local@domain", ErrInvalid, a)
	}
	for _, r := range a {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("<>()[]\\,;:\"", r) {
			return fmt.Errorf("%w: address %q: character %q not allowed", ErrInvalid, a, r)
		}
	}
	if strings.Contains(a[:at], "@") {
		return fmt.Errorf("%w: address %q: more than one @", ErrInvalid, a)
	}
	// both halves are dot-atoms (RFC 5322 3.2.3): mail readers refuse
	// "a.@x", ".a@x", "a..b@x" and "a@example." in a header
	for _, part := range []string{a[:at], a[at+1:]} {
		if part[0] == '.' || part[len(part)-1] == '.' || strings.Contains(part, "..") {
			return fmt.Errorf("%w: address %q: dot at the start or end, or two in a row", ErrInvalid, a)
		}
	}
	return nil
}

// encodeText is an unstructured header value (Subject): as is when it is
// printable ASCII, else RFC 2047 encoded-words (base64, UTF-8, each at
// most 75 characters and separated by spaces, where writeHeader folds).
func encodeText(s string) string {
	s = clean(s)
	if mustEncodeAll(s) {
		return encodeAll(s)
	}
	return mime.BEncoding.Encode("utf-8", s)
}

// mustEncodeAll reports a cleaned phrase or text that cannot go in a
// header as it is: a word too long to fold under 998 bytes (a hostile
// subscriber name of a thousand letters would otherwise make the whole
// message undeliverable) or "=?", which decoders would take for an
// encoded-word even inside quotes.
func mustEncodeAll(s string) bool {
	for _, w := range strings.Fields(s) {
		if len(w) > foldAt-10 {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// encodeAll is s as base64 encoded-words of at most 45 bytes of text
// each (72 characters, under RFC 2047's 75), separated by spaces where
// writeHeader may fold. A rune is never cut between two words.
func encodeAll(s string) string {
	const maxBytes = 45
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n > 0 && n+size > maxBytes {
				break
			}
			n += size
		}
		words = append(words, "=?utf-8?b?"+b64(s[:n])+"?=")
		s = s[n:]
	}
	return strings.Join(words, " ")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// formatAddress is "Name <addr>" with the name cleaned and quoted or
// RFC 2047-encoded as needed, or the bare address without a name.
func formatAddress(name, addr string) (string, error) {
	if err := checkAddr(addr); err != nil {
		return "", err
	}
	name = clean(name)
	if name == "" {
		return addr, nil
	}
	if mustEncodeAll(name) {
		return encodeAll(name) + " <" + addr + ">", nil
	}
	return (&mail.Address{Name: name, Address: addr}).String(), nil
}

// encodePhrase is a display name for List-Id: a quoted string, or
// encoded-words when it is not ASCII (or cannot be folded as it is).
func encodePhrase(s string) string {
	s = clean(s)
	if mustEncodeAll(s) {
		return encodeAll(s)
	}
	for _, r := range s {
		if r >= utf8.RuneSelf {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// writeHeader appends "Name: value" CRLF, folding at spaces so lines stay
// near 78 characters. value must already be encoded (ASCII); any CR or LF
// in it is replaced by a space so it cannot start another header. H5's
// transactional mails use it too.
func writeHeader(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, ':')
	col := len(name) + 1
	first := true
	for len(value) > 0 {
		var word string
		if i := strings.IndexByte(value, ' '); i >= 0 {
			word, value = value[:i], value[i+1:]
		} else {
			word, value = value, ""
		}
		if word == "" {
			continue
		}
		if !first && col+1+len(word) > foldAt {
			b = append(b, '\r', '\n')
			col = 0
		}
		b = append(b, ' ')
		for i := 0; i < len(word); i++ {
			c := word[i]
			if c == '\r' || c == '\n' || c == 0 {
				c = ' '
			}
			b = append(b, c)
		}
		col += 1 + len(word)
		first = false
	}
	return append(b, '\r', '\n')
}

// buildHeaders prepares the headers that are the same in every message.
func (e *Edition) buildHeaders() error {
	l, is := &e.list, e.issue
	e.subject = clean(is.Subject)
	if e.subject == "" {
		e.subject = clean(fill(e.s["subject"], func(s string) string { return s }, "title", is.Title, "number", strconv.Itoa(is.Number)))
	}
	from, err := formatAddress(fromName(l), l.FromAddress())
	if err != nil {
		return fmt.Errorf("from: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%d\x00%s", l.ID, is.ID, e.subject)
	e.boundary = fmt.Sprintf("=_tidings_%x", h.Sum64())

	var b []byte
	b = writeHeader(b, "From", from)
	if l.ReplyTo != "" {
		name, addr := "", strings.TrimSpace(l.ReplyTo)
		if a, err := mail.ParseAddress(addr); err == nil {
			name, addr = a.Name, a.Address
		}
		rt, err := formatAddress(name, addr)
		if err != nil {
			return fmt.Errorf("reply-to: %w", err)
		}
		b = writeHeader(b, "Reply-To", rt)
	}
	b = writeHeader(b, "List-Id", encodePhrase(l.Name)+" <"+listID(l)+">")
	b = writeHeader(b, "List-Archive", "<"+e.links.Archive(l.Slug)+">")
	b = writeHeader(b, "Feedback-ID", fmt.Sprintf("%d:%s:newsletter:tidings", is.ID, atom(l.Slug)))
	b = writeHeader(b, "Precedence", "bulk")
	b = writeHeader(b, "MIME-Version", "1.0")
	b = writeHeader(b, "Content-Language", l.Lang.Tag())
	b = writeHeader(b, "Content-Type", `multipart/alternative; boundary="`+e.boundary+`"`)
	e.fixed = b
	e.unsubURL = strings.TrimSuffix(e.links.Unsubscribe(l.Slug, "t"), "t")
	e.subjHdr = writeHeader(nil, "Subject", encodeText(e.subject))
	e.testHdr = writeHeader(nil, "Subject", encodeText(e.s["test"]+e.subject))
	return nil
}

func fromName(l *tidings.List) string {
	if i := strings.LastIndexByte(l.From, '<'); i > 0 {
		n := strings.TrimSpace(l.From[:i])
		if a, err := mail.ParseAddress(l.From); err == nil {
			n = a.Name
		}
		return strings.Trim(n, `"`)
	}
	return l.Name
}

// atom keeps the characters of s that may stand in a dot-atom.
func atom(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return -1
	}, s)
}

// listID is the RFC 2919 list identifier: slug.domain.
func listID(l *tidings.List) string { return atom(l.Slug) + "." + atom(l.Domain()) }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// tokens are the per-reader link tokens of one message.
type tokens struct{ unsub, prefs string }

func (e *Edition) tokens(rc *tidings.Recipient) tokens {
	c := token.Claims{SubscriberID: rc.SubscriberID, ListID: e.list.ID}
	c.Purpose = token.Unsubscribe
	u := e.r.Signer.Sign(c)
	c.Purpose = token.Preferences
	return tokens{unsub: u, prefs: e.r.Signer.Sign(c)}
}

// ReturnPath is the VERP envelope sender of rc's copy: a bounce to it
// names the subscriber, list and issue.
func (e *Edition) ReturnPath(rc tidings.Recipient) string {
	t := e.r.Signer.Sign(token.Claims{Purpose: token.Bounce, SubscriberID: rc.SubscriberID, ListID: e.list.ID, IssueID: e.issue.ID})
	return tidings.BounceAddress(t, e.domain)
}

// MessageID is the Message-ID of rc's copy: the same every time the issue
// is sent to that subscriber, so a re-sent copy can be recognised.
func (e *Edition) MessageID(rc tidings.Recipient) string {
	return string(e.appendMessageID(nil, &rc, false))
}

func (e *Edition) appendMessageID(b []byte, rc *tidings.Recipient, test bool) []byte {
	b = append(b, "<tidings.i"...)
	b = strconv.AppendInt(b, e.issue.ID, 10)
	b = append(b, ".s"...)
	b = strconv.AppendInt(b, rc.SubscriberID, 10)
	if test {
		b = append(b, ".test"...)
		b = strconv.AppendInt(b, e.r.now().UnixNano(), 36)
	}
	b = append(b, '.')
	b = append(b, atom(e.list.Slug)...)
	b = append(b, '@')
	b = append(b, atom(e.domain)...)
	return append(b, '>')
}

func (e *Edition) lookup(rc *tidings.Recipient) (*body, error) {
	var mb [16]byte
	m, n := e.mask(mb[:0], rc)
	if n == 0 {
		return nil, fmt.Errorf("render: subscriber #%d: %w", rc.SubscriberID, ErrNoArticles)
	}
	return e.body(m)
}

// WriteMessage writes rc's whole message (RFC 5322, CRLF line ends) to
// w. It is safe for concurrent use; the body of each article set is
// rendered once and its encoding reused. A recipient whose topics select
// no article gets ErrNoArticles.
func (e *Edition) WriteMessage(w io.Writer, rc tidings.Recipient, o MessageOptions) (MessageInfo, error) {
	to := rc.Email
	if o.To != "" {
		to = o.To
	}
	to = strings.TrimSpace(to)
	name := rc.Name
	if o.To != "" {
		name = "" // a test copy goes to someone else: not under the subscriber's name
	}
	toHdr, err := formatAddress(name, to)
	if err != nil {
		return MessageInfo{}, fmt.Errorf("render: subscriber #%d: %w", rc.SubscriberID, err)
	}
	if err := checkAddr(rc.Email); err != nil && o.To == "" {
		return MessageInfo{}, fmt.Errorf("render: subscriber #%d: %w", rc.SubscriberID, err)
	}
	bd, err := e.lookup(&rc)
	if err != nil {
		return MessageInfo{}, err
	}
	tk := e.tokens(&rc)
	if o.Test {
		// A test copy carries working unsubscribe links (mailbox
		// providers and SpamAssassin score a bulk message without them),
		// but for nobody: an editor who tries them on a copy composed as a
		// reader must not take that reader off the list. A one-click POST
		// answers 200 and changes nothing.
		tk = e.tokens(&tidings.Recipient{})
	}
	tt := e.topicSlot(&rc)
	mt := e.messageTrack(&rc, tt, o.Test || o.To != "")
	defer mt.done()
	email := rc.Email
	if o.To != "" {
		email = to
	}

	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	b = append(b, "Date: "...)
	b = e.r.now().In(e.loc).AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 -0700")
	b = append(b, '\r', '\n')
	b = writeHeader(b, "To", toHdr)
	if o.Test {
		b = append(b, e.testHdr...)
	} else {
		b = append(b, e.subjHdr...)
	}
	idStart := len(b) + len("Message-ID: ")
	b = append(b, "Message-ID: "...)
	b = e.appendMessageID(b, &rc, o.Test)
	msgID := string(b[idStart:])
	b = append(b, '\r', '\n')
	// <Links.Unsubscribe(slug, tok)>, <mailto:UnsubscribeAddress(tok, domain)>
	// written piecewise: the token is lower-case base32, which needs no
	// escaping in a URL path or a local part.
	b = append(b, "List-Unsubscribe: <"...)
	b = append(b, e.unsubURL...)
	b = append(b, tk.unsub...)
	b = append(b, ">,\r\n <mailto:unsubscribe+"...)
	b = append(b, tk.unsub...)
	b = append(b, '@')
	b = append(b, e.domain...)
	b = append(b, ">\r\n"...)
	b = append(b, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"...)
	b = append(b, e.fixed...)
	b = append(b, "\r\nThis is a multipart message in MIME format.\r\n"...)

	vals := [nSlots]string{slotUnsub: tk.unsub, slotPrefs: tk.prefs}
	for part := range 2 {
		b = append(b, "\r\n--"...)
		b = append(b, e.boundary...)
		pieces := bd.text
		if part == 0 {
			b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\n"...)
			vals[slotEmail], vals[slotTopics] = email, tt.text
		} else {
			b = append(b, "\r\nContent-Type: text/html; charset=utf-8\r\n"...)
			pieces = bd.html
			vals[slotEmail], vals[slotTopics] = html.EscapeString(email), tt.html
		}
		b = append(b, "Content-Transfer-Encoding: base64\r\n\r\n"...)
		enc := encoder{buf: b}
		for _, p := range pieces {
			if p.c != nil {
				enc.static(p.c)
			} else if isTrackSlot(p.slot) {
				enc.dynamic(mt.value(p.slot))
			} else {
				enc.dynamicString(vals[p.slot])
			}
		}
		enc.finish()
		b = enc.buf
	}
	b = append(b, "--"...)
	b = append(b, e.boundary...)
	b = append(b, "--\r\n"...)

	n, err := w.Write(b)
	*bp = b
	bufPool.Put(bp)
	if err != nil {
		return MessageInfo{MessageID: msgID, Size: n}, fmt.Errorf("render: write message: %w", err)
	}
	return MessageInfo{MessageID: msgID, Size: n}, nil
}

// assemble is a part's decoded content for rc.
func (e *Edition) assemble(rc tidings.Recipient, htmlPart bool) ([]byte, error) {
	bd, err := e.lookup(&rc)
	if err != nil {
		return nil, err
	}
	tk := e.tokens(&rc)
	tt := e.topicSlot(&rc)
	vals := [nSlots]string{slotUnsub: tk.unsub, slotPrefs: tk.prefs, slotEmail: rc.Email, slotTopics: tt.text}
	mt := e.messageTrack(&rc, tt, true) // a preview's links count nothing
	defer mt.done()
	pieces := bd.text
	if htmlPart {
		pieces = bd.html
		vals[slotEmail], vals[slotTopics] = html.EscapeString(rc.Email), tt.html
	}
	var out []byte
	for _, p := range pieces {
		if p.c != nil {
			out = append(out, p.c.raw...)
		} else if isTrackSlot(p.slot) {
			out = append(out, mt.value(p.slot)...)
		} else {
			out = append(out, vals[p.slot]...)
		}
	}
	return out, nil
}

// HTML is the HTML part rc receives, decoded (CRLF line ends).
func (e *Edition) HTML(rc tidings.Recipient) ([]byte, error) { return e.assemble(rc, true) }

// Text is the plain-text part rc receives, decoded (CRLF line ends).
func (e *Edition) Text(rc tidings.Recipient) ([]byte, error) { return e.assemble(rc, false) }
