package tidings

import (
	"net/url"
	"strconv"
	"strings"
)

// Links are the reader URLs under --base-url. They are decided here, in one
// place, because mail (render), the web server (web) and inbound mail all
// have to agree on them. Tokens come from package token.
type Links struct {
	Base string // e.g. https://news.example.org (no trailing slash needed)
}

func (l Links) join(parts ...string) string {
	b := strings.TrimRight(l.Base, "/")
	for _, p := range parts {
		b += "/" + url.PathEscape(p)
	}
	return b
}

// Subscribe is the list's subscribe form.
func (l Links) Subscribe(list string) string { return l.join(list, "subscribe") }

// Confirm is the double opt-in link.
func (l Links) Confirm(list, tok string) string { return l.join(list, "confirm", tok) }

// Preferences is the per-subscriber preference centre.
func (l Links) Preferences(list, tok string) string { return l.join(list, "preferences", tok) }

// Unsubscribe shows a one-button page on GET and unsubscribes on the
// RFC 8058 one-click POST.
func (l Links) Unsubscribe(list, tok string) string { return l.join(list, "unsubscribe", tok) }

// Archive is the list's archive page.
func (l Links) Archive(list string) string { return l.join(list, "archive") }

// Issue is the stable "view in browser" page of one issue (the full issue).
func (l Links) Issue(list string, number int) string {
	return l.join(list, "archive", strconv.Itoa(number))
}

// Feed is the list's Atom feed.
func (l Links) Feed(list string) string { return l.join(list, "feed.xml") }

// Local parts of the addresses at a list's domain (the From domain).
// Inbound mail recognises exactly these.
func BounceAddress(tok, domain string) string      { return "bounces+" + tok + "@" + domain }
func UnsubscribeAddress(tok, domain string) string { return "unsubscribe+" + tok + "@" + domain }
func SubscribeAddress(list, domain string) string  { return list + "+subscribe@" + domain }
func LeaveAddress(list, domain string) string      { return list + "+unsubscribe@" + domain }
