package inbound

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// message is a parsed inbound message with what classification needs.
type message struct {
	env        *enmime.Envelope
	root       *enmime.Part
	from       string // From address, as written
	fromName   string
	subject    string
	ctype      string // top-level media type, lower case
	reportType string // multipart/report's report-type parameter, lower case

	envFrom    string // MAIL FROM or Return-Path
	nullSender bool   // MAIL FROM:<> — bounces and other robots
}

// maxMultiparts bounds the multipart declarations a message may carry
// before it is parsed. enmime (v2.3) takes time exponential in the depth
// of nested multiparts whose boundaries are not closed in order: a 2 KB
// message nesting 30 of them keeps a core busy for hours. Real bounces and
// reports nest three or four, and the message they return adds a few.
const maxMultiparts = 12

// multipartRe finds multipart Content-Type fields, folded or not, at any
// depth (counting those inside a returned message too errs on the safe
// side).
var multipartRe = regexp.MustCompile(`(?im)^content-type[ \t]*:(?:[ \t]|\r?\n[ \t])*multipart/`)

// errTooComplex: a message is not parsed at all (see maxMultiparts).
var errTooComplex = errors.New("too many nested MIME parts")

func parseMessage(raw []byte) (*message, error) {
	if n := len(multipartRe.FindAllIndex(raw, maxMultiparts+1)); n > maxMultiparts {
		return nil, fmt.Errorf("parse message: %w (more than %d multiparts)", errTooComplex, maxMultiparts)
	}
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse message: %w", err)
	}
	m := &message{env: env, root: env.Root, subject: strings.TrimSpace(env.GetHeader("Subject"))}
	if as, err := env.AddressList("From"); err == nil && len(as) > 0 {
		m.from, m.fromName = as[0].Address, as[0].Name
	}
	if ct := env.Root.Header.Get("Content-Type"); ct != "" {
		if mt, params, err := mime.ParseMediaType(ct); err == nil {
			m.ctype = strings.ToLower(mt)
			m.reportType = strings.ToLower(params["report-type"])
		}
	}
	if m.ctype == "" {
		m.ctype = strings.ToLower(env.Root.ContentType)
	}
	return m, nil
}

func (m *message) header(name string) string { return strings.TrimSpace(m.env.GetHeader(name)) }

// parts walks the MIME tree depth first.
func (m *message) parts(fn func(*enmime.Part) bool) {
	var walk func(p *enmime.Part) bool
	walk = func(p *enmime.Part) bool {
		for ; p != nil; p = p.NextSibling {
			if !fn(p) || !walk(p.FirstChild) {
				return false
			}
		}
		return true
	}
	walk(m.root)
}

func (m *message) findPart(types ...string) *enmime.Part {
	var found *enmime.Part
	m.parts(func(p *enmime.Part) bool {
		ct := strings.ToLower(p.ContentType)
		for _, t := range types {
			if ct == t {
				found = p
				return false
			}
		}
		return true
	})
	return found
}

// isReport: a multipart/report (RFC 6522) — DSN, ARF, MDN — is always
// machine-generated and never answered.
func (m *message) isReport() bool { return m.ctype == "multipart/report" }

// isComplaint recognises an ARF feedback report (RFC 5965).
func isComplaint(m *message) bool {
	if m.ctype == "multipart/report" && m.reportType == "feedback-report" {
		return true
	}
	return m.findPart("message/feedback-report") != nil
}

// originalHeaders are the headers of the message a report is about
// (message/rfc822 or text/rfc822-headers part), or nil.
func (m *message) originalHeaders() mail.Header {
	p := m.findPart("message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "message/global", "message/global-headers")
	if p == nil {
		return nil
	}
	content := p.Content
	// A headers-only part has no blank line after the headers.
	if !bytes.Contains(content, []byte("\n\n")) && !bytes.Contains(content, []byte("\r\n\r\n")) {
		content = append(append([]byte(nil), content...), "\r\n\r\n"...)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(content))
	if err != nil {
		return nil
	}
	return msg.Header
}

var mailtoRe = regexp.MustCompile(`(?i)<mailto:([^>?]+)`)

// originalAddrs are the addresses in the reported message that can carry
// a reader's token: its Return-Path (VERP, with the issue), the sender
// address it was delivered from, and its List-Unsubscribe mailto.
func (m *message) originalAddrs() []string {
	var out []string
	// An ARF report names the reported message's envelope sender — our
	// VERP address — in Original-Mail-From (RFC 5965 3.2), even when the
	// reported headers are redacted or lack Return-Path.
	if fr := m.findPart("message/feedback-report"); fr != nil {
		for _, g := range parseStatusFields(fr.Content) {
			if v := strings.TrimSpace(g.Get("Original-Mail-From")); v != "" {
				out = append(out, strings.Trim(v, "<> "))
			}
		}
	}
	h := m.originalHeaders()
	if h == nil {
		return out
	}
	for _, name := range []string{"Return-Path", "X-Envelope-From", "Sender", "Errors-To"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			out = append(out, strings.Trim(v, "<> "))
		}
	}
	for _, mm := range mailtoRe.FindAllStringSubmatch(h.Get("List-Unsubscribe"), -1) {
		out = append(out, mm[1])
	}
	return out
}

// deliveredTo are the addresses a mailbox message may have been delivered
// to, best first: what the final MTA wrote, then what the sender wrote.
func (m *message) deliveredTo() []string {
	var out []string
	for _, name := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Rcpt-To"} {
		for _, v := range m.env.GetHeaderValues(name) {
			out = append(out, strings.Trim(strings.TrimSpace(v), "<>"))
		}
	}
	for _, name := range []string{"To", "Cc"} {
		if as, err := m.env.AddressList(name); err == nil {
			for _, a := range as {
				out = append(out, a.Address)
			}
		}
	}
	return out
}

// returnPath reads the Return-Path header of raw: the envelope sender as
// the final MTA recorded it. null is true for "<>".
func returnPath(raw []byte) (addr string, null, ok bool) {
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	h, err := r.ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return "", false, false
	}
	v, present := h["Return-Path"]
	if !present || len(v) == 0 {
		return "", false, false
	}
	a := strings.Trim(strings.TrimSpace(v[0]), "<> ")
	return a, a == "", true
}

// autoReply says why m is an automatic answer (RFC 3834 and the common
// vendor headers), or "".
func autoReply(m *message) string {
	if why := vacationReply(m); why != "" {
		return why
	}
	if v := strings.ToLower(m.header("Auto-Submitted")); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	return ""
}

// vacationReply are the signals of a responder (vacation, out of office)
// that an MTA's bounce never carries; Auto-Submitted alone is on most
// bounces too.
func vacationReply(m *message) string {
	for _, h := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponse"} {
		if m.header(h) != "" {
			return h
		}
	}
	if v := strings.ToLower(m.header("Precedence")); v == "auto_reply" {
		return "Precedence: " + v
	}
	if oooRe.MatchString(m.subject) {
		return "out-of-office subject"
	}
	return ""
}

var oooRe = regexp.MustCompile(`(?i)(out of (the )?office|auto(matic)?[ -]?(reply|response)|autoreply|vacation|abwesenheit|absence|自动回复|不在办公室|休假)`)

// bulk says why m is list or bulk mail, which is never answered.
func bulk(m *message) string {
	if m.header("List-Id") != "" {
		return "List-Id"
	}
	if m.header("List-Unsubscribe") != "" {
		return "List-Unsubscribe"
	}
	switch v := strings.ToLower(m.header("Precedence")); v {
	case "bulk", "junk", "list":
		return "Precedence: " + v
	}
	return ""
}
