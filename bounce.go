package tidings

import "strings"

// MailboxGone reports whether an enhanced status code (RFC 3463) says the
// recipient's mailbox does not exist or is disabled: 5.1.x bad destination
// (except 5.1.7 and 5.1.8, which are about the sender's address) and
// 5.2.1 mailbox disabled. Only these make a bounce "hard": a policy
// refusal (5.7.x, e.g. DMARC) or a full mailbox says nothing about the
// reader's address, and taking readers off a list for it would empty the
// list the day a DKIM key breaks. The sender (at SMTP time) and inbound
// bounce processing share this one rule.
func MailboxGone(enhanced string) bool {
	if strings.HasPrefix(enhanced, "5.1.") {
		return enhanced != "5.1.7" && enhanced != "5.1.8"
	}
	return enhanced == "5.2.1"
}
