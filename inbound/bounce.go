package inbound

import (
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/dsn"
)

// Kinds of bounces rows.
const (
	KindHard      = "hard"
	KindSoft      = "soft"
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
	enhancedRe = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	basicRe    = regexp.MustCompile(`(?m)(?:^|[\s:;(])([45][0-9][0-9])[ -]`)
	// Subjects of the bounce bodies MTAs write without RFC 3464.
	bounceSubjectRe = regexp.MustCompile(`(?i)(undeliver|returned to sender|mail delivery (failed|failure|subsystem)|delivery status notification|returned mail|failure notice|delivery (has )?failed|not (be )?delivered|nondeliverable|non-delivery|delivery failure|退信|投递失败|无法投递)`)
	delayRe         = regexp.MustCompile(`(?i)(delay|warning: message|still being retried|will (keep )?(retry|trying)|延迟)`)
	// When a text bounce names no code, these phrases decide.
	softPhraseRe = regexp.MustCompile(`(?i)(mailbox (is )?full|over ?quota|quota exceeded|insufficient (system )?storage|temporar|try again later|邮箱已满|空间不足)`)
	hardPhraseRe = regexp.MustCompile(`(?i)(user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|doesn't exist|not exist|address rejected|mailbox unavailable|invalid (recipient|mailbox|address)|recipient not found|account (has been )?disabled|用户不存在|地址不存在)`)
)

// kindOf maps an enhanced status code to the bounce kind: class 5 is
// permanent, except "mailbox full" (x.2.2), which clears by itself like a
// class 4 failure.
func kindOf(code string) string {
	if strings.HasPrefix(code, "4.") || strings.HasSuffix(code, ".2.2") {
		return KindSoft
	}
	return KindHard
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
	if m.isReport() && m.reportType != "feedback-report" {
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
// dsn.ParseReport expects the human-readable part first as text/plain,
// text/html or multipart/alternative; Gmail sends multipart/related there,
// so the status part is then parsed on its own, re-rooted.
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
	root := &enmime.Part{ContentType: "multipart/report"}
	root.FirstChild = &enmime.Part{ContentType: "text/plain", Parent: root}
	root.FirstChild.NextSibling = &enmime.Part{ContentType: "message/delivery-status", Content: ds.Content, Parent: root}
	if rep, err := dsn.ParseReport(root); err == nil && rep != nil {
		for _, f := range rep.DeliveryStatus.RecipientDSNs {
			out = append(out, f)
		}
	}
	return out
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
		if code == "" {
			code = statusCode(diag)
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
