package inbound

import (
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2/dsn"

	"github.com/tidings/tidings/bounce"
)

// Kinds of bounces rows.
const (
	KindHard      = bounce.Hard
	KindSoft      = bounce.Soft
	KindComplaint = "complaint"
)

// bounceInfo is what a bounce says about the failed delivery.
type bounceInfo struct {
	kind       string // hard | soft
	code       string // enhanced status code
	diagnostic string
	source     string // dsn | text
}

var (
	// An enhanced status code (RFC 3463) stands alone: not inside an IP
	// address ("[10.4.5.6]") or a version number, where \b would find one.
	enhancedRe = regexp.MustCompile(`(?:^|[^0-9.])([245])\.([0-9]{1,3})\.([0-9]{1,3})(?:$|[^0-9.]|\.(?:$|[^0-9]))`)
	basicRe    = regexp.MustCompile(`(?m)(?:^|[\s:;(])([45][0-9][0-9])[ -]`)
	// Subjects of the bounce bodies MTAs write without RFC 3464.
	bounceSubjectRe = regexp.MustCompile(`(?i)(undeliver|returned to sender|mail delivery (failed|failure|subsystem)|delivery status notification|returned mail|failure notice|delivery (has )?failed|not (be )?delivered|nondeliverable|non-delivery|delivery failure|退信|投递失败|无法投递)`)
	delayRe         = regexp.MustCompile(`(?i)(delay|warning: message|still being retried|will (keep )?(retry|trying)|延迟)`)
	// When a text bounce names no code, these phrases decide.
	softPhraseRe = regexp.MustCompile(`(?i)(mailbox (is )?full|over ?quota|quota exceeded|insufficient (system )?storage|temporar|try again later|邮箱已满|空间不足)`)
	hardPhraseRe = regexp.MustCompile(`(?i)(user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|not exist|address rejected|mailbox unavailable|invalid (recipient|mailbox|address)|recipient not found|account (has been )?disabled|用户不存在|地址不存在)`)
)

// kindOf maps an enhanced status code to the bounce kind. Hard means the
// address itself is dead, as the mailer judges a reply at send time
// (mailer.recipientCode): 5.1.x bad destination, except 5.1.7/5.1.8 (our
// own sender address), 5.2.1 mailbox disabled, and the unspecific 5.0.0
// of MTAs that write no detail. Everything else is soft and counts toward
// the soft limit: class 4, mailbox full (x.2.2), and permanent refusals of
// the message or of us rather than of the address — policy (5.7.x: a
// DMARC or spam block), size (5.3.4, 5.2.3), routing and content. One
// block-list entry or one broken DKIM key must not mark every reader at
// that provider bounced.
func kindOf(code string) string {
	// 5.0.0 is what Exim and others write for every failure; when nothing
	// more specific was found, count it as hard rather than never at all.
	if code == "5.0.0" {
		return KindHard
	}
	return bounce.KindOf(code)
}

// statusCode finds the enhanced status code in s, or derives one from a
// basic reply code (550 → 5.0.0).
func statusCode(s string) string {
	if m := enhancedRe.FindStringSubmatch(s); m != nil && m[1] != "2" {
		return m[1] + "." + m[2] + "." + m[3]
	}
	if m := basicRe.FindStringSubmatch(s); m != nil {
		return m[1][:1] + ".0.0"
	}
	return ""
}

// classifyBounce decides whether m reports a failed delivery. The second
// result says why not, when it does not.
func classifyBounce(m *message) (bounceInfo, string) {
	// A delivery-status part decides, wherever it sits: some MTAs wrap
	// the report in multipart/mixed.
	if m.reportType != "feedback-report" {
		if fields := dsnFields(m); len(fields) > 0 {
			return fromDSN(fields)
		}
	}
	// Auto-replies are never bounces, however their text reads.
	if strong := strongAutoReply(m); strong != "" {
		return bounceInfo{}, "auto-reply (" + strong + ")"
	}
	daemon := isDaemon(m.from)
	if !bounceSubjectRe.MatchString(m.subject) && !(daemon && m.nullSender) {
		return bounceInfo{}, "not a bounce"
	}
	if delayRe.MatchString(m.subject) {
		return bounceInfo{}, "delay notice (the sender's MTA is still trying)"
	}
	text := m.env.Text
	if text == "" {
		text = string(m.root.Content)
	}
	code, line := "", ""
	for _, l := range strings.Split(text, "\n") {
		if c := statusCode(l); c != "" {
			code, line = c, strings.TrimSpace(l)
			break
		}
	}
	switch {
	case code != "":
	case softPhraseRe.MatchString(text):
		code, line = "4.2.2", firstMatchLine(text, softPhraseRe)
	case hardPhraseRe.MatchString(text):
		code, line = "5.1.1", firstMatchLine(text, hardPhraseRe)
	default:
		return bounceInfo{}, "bounce-like subject but no status code or known reason"
	}
	return bounceInfo{kind: kindOf(code), code: code, diagnostic: clip(line), source: "text"}, ""
}

// strongAutoReply says why m is an auto-reply rather than a bounce:
// a responder's signal, or Auto-Submitted on mail not from a mailer daemon
// (RFC 3834 responders also send from the null sender, so that proves
// nothing).
func strongAutoReply(m *message) string {
	if why := vacationReply(m); why != "" {
		return why
	}
	if why := autoReply(m); why != "" && !isDaemon(m.from) {
		return why
	}
	return ""
}

func firstMatchLine(text string, re *regexp.Regexp) string {
	for _, l := range strings.Split(text, "\n") {
		if re.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func isDaemon(addr string) bool {
	local, _, ok := splitAddr(addr)
	if !ok {
		return false
	}
	switch local {
	case "mailer-daemon", "mailerdaemon", "mail-daemon", "postmaster", "mail.delivery.system":
		return true
	}
	return false
}

// dsnField is one per-recipient group of a delivery-status part.
type dsnField interface{ Get(string) string }

// dsnFields are the per-recipient fields of an RFC 3464 report. enmime's
// dsn.ParseReport reads the common layout; it expects the human-readable
// part first as text/plain, text/html or multipart/alternative (Gmail
// sends multipart/related there) and gives up on the whole report at one
// malformed line (an unindented continuation, a stray word). Then the
// status part is read again by parseStatusFields, which keeps what it can.
func dsnFields(m *message) []dsnField {
	var out []dsnField
	if rep, err := dsn.ParseReport(m.root); err == nil && rep != nil {
		for _, f := range rep.DeliveryStatus.RecipientDSNs {
			out = append(out, f)
		}
	}
	if len(out) > 0 {
		return out
	}
	ds := m.findPart("message/delivery-status", "message/global-delivery-status", "text/delivery-status")
	if ds == nil {
		return nil
	}
	for _, g := range parseStatusFields(ds.Content) {
		// Per-recipient groups name the recipient or its fate; the
		// per-message group (Reporting-MTA…) does neither.
		if g.Get("Final-Recipient") != "" || g.Get("Action") != "" || g.Get("Status") != "" {
			out = append(out, g)
		}
	}
	return out
}

// fieldGroup is one blank-line separated group of a delivery-status body.
type fieldGroup map[string]string

func (g fieldGroup) Get(name string) string { return g[strings.ToLower(name)] }

// parseStatusFields reads a delivery-status body leniently: groups
// separated by blank lines, "Name: value" fields, indented continuation
// lines folded in. A line that is neither continues the field before it
// (a continuation its MTA forgot to indent) or, with no field before it,
// is dropped.
func parseStatusFields(b []byte) []fieldGroup {
	var out []fieldGroup
	cur, last := fieldGroup{}, ""
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur, last = fieldGroup{}, ""
	}
	for _, line := range strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			if name, value, ok := strings.Cut(line, ":"); ok && isFieldName(name) {
				last = strings.ToLower(name)
				if _, dup := cur[last]; !dup { // the first of a repeated field counts
					cur[last] = strings.TrimSpace(value)
				} else {
					last = ""
				}
				continue
			}
		}
		if last != "" {
			cur[last] += " " + strings.TrimSpace(line)
		}
	}
	flush()
	return out
}

// isFieldName: printable ASCII except colon and space (RFC 5322 ftext).
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func fromDSN(fields []dsnField) (bounceInfo, string) {
	var delayed bool
	for _, f := range fields {
		action := strings.ToLower(strings.TrimSpace(f.Get("Action")))
		diag := strings.TrimSpace(f.Get("Diagnostic-Code"))
		if i := strings.IndexByte(diag, ';'); i >= 0 && i < 12 {
			diag = strings.TrimSpace(diag[i+1:]) // drop the "smtp;" type
		}
		code := statusCode(f.Get("Status"))
		// "5.0.0" says nothing (Exim writes it for every failure); the
		// remote server's reply in Diagnostic-Code often says more.
		switch d := statusCode(diag); {
		case code == "":
			code = d
		case strings.HasSuffix(code, ".0.0") && d != "" && d[0] == code[0]:
			code = d
		}
		switch {
		case action == "failed" || action == "" && code != "":
			if code == "" {
				code = "5.0.0"
			}
			if diag == "" {
				diag = "status " + code
			}
			return bounceInfo{kind: kindOf(code), code: code, diagnostic: clip(diag), source: "dsn"}, ""
		case action == "delayed":
			delayed = true
		}
	}
	if delayed {
		return bounceInfo{}, "delay notice (the sender's MTA is still trying)"
	}
	return bounceInfo{}, "delivery report without a failure"
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}
