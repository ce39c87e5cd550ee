package inbound

import (
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/token"
)

type addrKind int

const (
	addrBounce      addrKind = iota + 1 // bounces+TOKEN@domain (token.Bounce)
	addrUnsubscribe                     // unsubscribe+TOKEN@domain (token.Unsubscribe)
	addrSubscribe                       // LIST+subscribe@domain
	addrLeave                           // LIST+unsubscribe@domain
)

// target is a recognised list address.
type target struct {
	kind   addrKind
	list   tidings.List
	claims token.Claims // bounce and unsubscribe addresses
}

// splitAddr returns the lower-cased local part and domain of a bare or
// bracketed address.
func splitAddr(s string) (local, domain string, ok bool) {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	s = strings.Trim(s, "<>")
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", "", false
	}
	return strings.ToLower(s[:at]), strings.ToLower(s[at+1:]), true
}

// resolve recognises one of the lists' own addresses (links.go decides
// their form) and checks its token. Anything else is ErrNotOurs: the SMTP
// listener turns that into 550 at RCPT, so it is never an open relay.
func (p *Processor) resolve(ctx context.Context, addr string) (target, error) {
	local, domain, ok := splitAddr(addr)
	if !ok {
		return target{}, fmt.Errorf("recipient %q: %w", addr, ErrNotOurs)
	}
	lists, err := p.allLists(ctx)
	if err != nil {
		return target{}, fmt.Errorf("recipient %q: %w", addr, err)
	}
	byID := func(id int64) (tidings.List, bool) {
		for _, l := range lists {
			if l.ID == id && l.Domain() == domain {
				return l, true
			}
		}
		return tidings.List{}, false
	}
	// Only the part after the first '+' is the detail; list slugs carry no
	// '+', and tokens are base32.
	user, detail, hasDetail := strings.Cut(local, "+")
	if !hasDetail || detail == "" {
		return target{}, fmt.Errorf("recipient %q: %w", addr, ErrNotOurs)
	}
	switch user {
	case "bounces":
		c, err := p.cfg.Signer.Verify(detail, token.Bounce)
		if err == nil {
			if l, ok := byID(c.ListID); ok {
				return target{kind: addrBounce, list: l, claims: c}, nil
			}
		}
	case "unsubscribe":
		c, err := p.cfg.Signer.Verify(detail, token.Unsubscribe)
		if err == nil {
			if l, ok := byID(c.ListID); ok {
				return target{kind: addrUnsubscribe, list: l, claims: c}, nil
			}
		}
	}
	for _, l := range lists {
		if l.Slug != user || l.Domain() != domain {
			continue
		}
		switch detail {
		case "subscribe":
			return target{kind: addrSubscribe, list: l}, nil
		case "unsubscribe":
			return target{kind: addrLeave, list: l}, nil
		}
	}
	return target{}, fmt.Errorf("recipient %q: %w", addr, ErrNotOurs)
}

// isOwnAddress reports whether addr is a list's From address or one of the
// lists' inbound addresses (bounces, unsubscribe or LIST, with or without a
// detail, at a list's domain): mail from there is our own, and answering it
// could start a loop.
func isOwnAddress(lists []tidings.List, addr string) bool {
	local, domain, ok := splitAddr(addr)
	if !ok {
		return false
	}
	full := local + "@" + domain
	for _, l := range lists {
		if strings.EqualFold(l.FromAddress(), full) {
			return true
		}
		if domain != l.Domain() {
			continue
		}
		user, _, _ := strings.Cut(local, "+")
		if user == "bounces" || user == "unsubscribe" || user == l.Slug {
			return true
		}
	}
	return false
}
