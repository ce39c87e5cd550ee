package mailer

import (
	"context"
	"errors"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
)

// FailKind is why a delivery failed; it decides what happens next and
// is stored in deliveries.fail_kind.
type FailKind string

const (
	// KindTemporary: 4xx, timeout or dropped connection — retried with backoff.
	KindTemporary FailKind = "temporary"
	// KindPermanent: a 5xx about the message — final at once.
	KindPermanent FailKind = "permanent"
	// KindRecipient: a 5xx naming the recipient (5.1.x, 5.2.1) — a hard bounce.
	KindRecipient FailKind = "recipient"
	// KindServer: the relay refuses everything (auth, TLS, sender) — the
	// send pauses; --retry-failed re-queues such failures.
	KindServer FailKind = "server"
)

// verdict is what one failed step means for the message, the session and
// the relay.
type verdict struct {
	kind      FailKind
	throttle  bool   // the relay asks us to slow down
	relayDown bool   // connection-level failure: counts toward the circuit breaker
	broken    bool   // the relay cannot work as configured: out until the send restarts
	reconnect bool   // the session is unusable
	rcpt      bool   // the reply refused this recipient (RCPT TO), not the session or the message
	code      int    // SMTP reply code, 0 for transport errors
	enhanced  string // e.g. 5.1.1
	reply     string // the server's reply, or the transport error
}

// replyOf extracts an SMTP reply from err, if the server sent one.
func replyOf(err error) (code int, enhanced, text string, ok bool) {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return 0, "", "", false
	}
	return te.Code, enhancedCode(te.Msg), te.Msg, true
}

// enhancedCode is the RFC 3463 code at the start of a reply text, if any.
func enhancedCode(msg string) string {
	f, _, _ := strings.Cut(strings.TrimSpace(msg), " ")
	parts := strings.Split(f, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if _, err := strconv.Atoi(p); err != nil || p == "" {
			return ""
		}
	}
	return f
}

// throttling reports a reply that asks the client to slow down: 421 (the
// server closes the session), 454, 451 with a 4.7.x policy code, or the
// wording cloud relays use ("Throttling failure: Maximum sending rate
// exceeded", "too many messages").
func throttling(code int, enhanced, text string) bool {
	if code == 421 || code == 454 || (code == 451 && strings.HasPrefix(enhanced, "4.7.")) {
		return true
	}
	if code < 400 || code >= 500 {
		return false
	}
	t := strings.ToLower(text)
	for _, w := range []string{"throttl", "rate exceeded", "rate limit", "too many messages", "too many connections", "slow down"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// recipientCode reports a permanent failure that names the mailbox
// (tidings.MailboxGone, the rule inbound bounces follow too); without an
// enhanced code, 550/551/553 to RCPT.
func recipientCode(stage string, code int, enhanced string) bool {
	if enhanced != "" {
		return tidings.MailboxGone(enhanced)
	}
	return stage == stageRcpt && (code == 550 || code == 551 || code == 553)
}

// aboutMailbox reports a temporary refusal at RCPT that is about the
// reader's mailbox or address (4.1.x, 4.2.x: mailbox full or busy; a bare
// 450 "mailbox unavailable"), not the relay's own trouble (4.3.x system,
// 4.4.x routing, 4.7.x policy, 452 without a code: the relay's storage).
// Given up on, such a refusal is the reader's soft bounce.
func (v verdict) aboutMailbox() bool {
	if !v.rcpt {
		return false
	}
	if v.enhanced != "" {
		return strings.HasPrefix(v.enhanced, "4.1.") || strings.HasPrefix(v.enhanced, "4.2.")
	}
	return v.code == 450
}

// relayDenied reports a refusal to relay: the reply servers give a client
// they do not trust to send to other domains (Postfix "Relay access
// denied", Exchange "Unable to relay", "Relaying denied").
func relayDenied(enhanced, text string) bool {
	if enhanced != "" && !strings.HasPrefix(enhanced, "5.7.") {
		return false
	}
	t := strings.ToLower(text)
	for _, w := range []string{"relay access denied", "relaying denied", "unable to relay", "relay not permitted",
		"relaying not permitted", "relay not allowed", "relaying not allowed", "relay prohibited", "relaying prohibited"} {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

// classify turns an error from a relay conversation into a verdict. The
// rules follow REFERENCE.md: any 4xx is temporary, 5xx permanent, and an
// error without a reply code (network, timeout, EOF — go-mail's code 0)
// is a transport failure to retry, never a permanent one.
func classify(err error) verdict {
	stage := ""
	var se *smtpError
	if errors.As(err, &se) {
		stage = se.Stage
	}
	code, enh, text, ok := replyOf(err)
	v := verdict{code: code, enhanced: enh, rcpt: ok && stage == stageRcpt}
	if ok {
		v.reply = strconv.Itoa(code) + " " + text
	} else {
		v.reply = err.Error()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		v.kind, v.reconnect = KindTemporary, true
		return v
	}
	switch stage {
	case stageConnect, stageGreeting, stageHello:
		// Refused, unreachable, 421 "service not available", or a 5xx
		// greeting: the relay as a whole is unavailable for now.
		v.kind, v.relayDown, v.reconnect = KindTemporary, true, true
		return v
	case stageTLS, stageImplicit:
		v.kind, v.broken, v.reconnect = KindServer, true, true
		return v
	case stageAuth:
		v.reconnect = true
		if ok && code >= 400 && code < 500 {
			v.kind, v.relayDown = KindTemporary, true // 454 temporary authentication failure
			return v
		}
		if !ok && !isRefusal(err) {
			v.kind, v.relayDown = KindTemporary, true // the connection broke during AUTH
			return v
		}
		v.kind, v.broken = KindServer, true
		return v
	}
	if !ok {
		// Transport failure inside a session (timeout, drop mid-DATA).
		v.kind, v.relayDown, v.reconnect = KindTemporary, true, true
		return v
	}
	if code >= 400 && code < 500 {
		v.kind = KindTemporary
		v.throttle = throttling(code, enh, text)
		v.reconnect = code == 421
		return v
	}
	if code >= 500 {
		switch {
		case stage == stageMail:
			// The relay refuses our sender: every message would fail the same way.
			v.kind, v.broken = KindServer, true
		case code == 530 || (code == 535) || strings.HasPrefix(enh, "5.7.8") || strings.HasPrefix(enh, "5.7.0") && strings.Contains(strings.ToLower(text), "auth"):
			v.kind, v.broken = KindServer, true
		case relayDenied(enh, text):
			// "554 5.7.1 Relay access denied": the relay does not accept
			// us as a client (credentials missing or wrong), so every
			// recipient would be refused the same way.
			v.kind, v.broken = KindServer, true
		case recipientCode(stage, code, enh):
			v.kind = KindRecipient
		default:
			v.kind = KindPermanent
		}
		return v
	}
	// A reply outside 4xx/5xx where an error was reported: treat as temporary.
	v.kind, v.reconnect = KindTemporary, true
	return v
}

// refusal is an error tidings raises itself before talking (no STARTTLS
// where TLS is required, AUTH over cleartext…): a configuration problem.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

func isRefusal(err error) bool {
	var r refusal
	return errors.As(err, &r)
}
