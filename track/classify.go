package track

import (
	"net/netip"
	"strings"
	"time"
)

// Event is one request for a tracking URL, as the classifier sees it.
type Event struct {
	Ref
	At     time.Time  // when the request came
	Method string     // GET or HEAD
	UA     string     // User-Agent
	IP     netip.Addr // the client (zero when unknown)

	Verdict Verdict // filled by the classifier; may change until settled
}

// Verdict is human or machine, and the rule that decided.
type Verdict struct {
	Machine bool
	Reason  string // the deciding rule's name; "" for a human without one
}

// Label is "human" or "machine", as stored.
func (v Verdict) Label() string {
	if v.Machine {
		return "machine"
	}
	return "human"
}

// Rule is one way to tell a machine. Decide reports whether ev is a
// machine's; group is every event held for ev's message (ev included),
// so rules like the honeypot and the burst can look at its neighbours.
// A rule that returns human=true instead vouches for a person (the
// Gmail image proxy after the scan window) and stops the rules after it.
type Rule interface {
	Name() string
	Decide(ev *Event, group []*Event) (machine, human bool)
}

// Classifier runs its rules in order; the first that decides wins.
type Classifier struct {
	Rules []Rule
}

// Defaults for NewClassifier.
const (
	DefaultScanWindow   = 15 * time.Second
	DefaultHoneypotSpan = 3 * time.Minute
	DefaultBurstSpan    = 2 * time.Second
	DefaultBurstLinks   = 3
)

// NewClassifier is the standard rule set with the given scan window (0
// turns that rule off; a negative one means the default).
func NewClassifier(scanWindow time.Duration) *Classifier {
	if scanWindow < 0 {
		scanWindow = DefaultScanWindow
	}
	return &Classifier{Rules: []Rule{
		HeadRule{},
		UserAgentRule{},
		AppleProxyRule{},
		ImageProxyRule{Window: scanWindow},
		HoneypotRule{Span: DefaultHoneypotSpan},
		ScanWindowRule{Window: scanWindow},
		BurstRule{Span: DefaultBurstSpan, Links: DefaultBurstLinks},
	}}
}

// Classify decides ev in the light of group.
func (c *Classifier) Classify(ev *Event, group []*Event) Verdict {
	for _, r := range c.Rules {
		machine, human := r.Decide(ev, group)
		if machine {
			return Verdict{Machine: true, Reason: r.Name()}
		}
		if human {
			reason := r.Name()
			if hn, ok := r.(interface{ HumanReason() string }); ok {
				reason = hn.HumanReason()
			}
			return Verdict{Reason: reason}
		}
	}
	return Verdict{}
}

// HeadRule: people's browsers GET; link checkers often HEAD first.
type HeadRule struct{}

func (HeadRule) Name() string { return "head" }
func (HeadRule) Decide(ev *Event, _ []*Event) (bool, bool) {
	return ev.Method == "HEAD", false
}

// UserAgentRule: an empty User-Agent, or one in the scanner table
// (scanners.go): gateways, link checkers, chat unfurlers, libraries.
type UserAgentRule struct{}

func (UserAgentRule) Name() string { return "user_agent" }
func (UserAgentRule) Decide(ev *Event, _ []*Event) (bool, bool) {
	return strings.TrimSpace(ev.UA) == "" || KnownScanner(ev.UA) != "", false
}

// AppleProxyRule: Mail Privacy Protection fetches every image on
// delivery through Apple's egress ranges; such an open says nothing about
// a person. Clicks are not proxied by it.
type AppleProxyRule struct{}

func (AppleProxyRule) Name() string { return "apple_proxy" }
func (AppleProxyRule) Decide(ev *Event, _ []*Event) (bool, bool) {
	return ev.Kind == Open && (InAppleProxy(ev.IP) || strings.TrimSpace(ev.UA) == appleProxyUA), false
}

// ImageProxyRule: webmail image proxies. Ones that prefetch on delivery
// (Yahoo, others in imageProxies) are machines; Gmail's proxy fetches
// when the reader opens the message, so past the scan window it is a
// person's open (before it, ScanWindowRule or this one calls it machine).
type ImageProxyRule struct{ Window time.Duration }

func (ImageProxyRule) Name() string { return "image_proxy" }

// HumanReason names the verdict when the rule vouches for a person.
func (ImageProxyRule) HumanReason() string { return "gmail_proxy" }
func (r ImageProxyRule) Decide(ev *Event, _ []*Event) (bool, bool) {
	if ev.Kind != Open {
		return false, false
	}
	switch imageProxy(ev.UA) {
	case proxyOnOpen:
		if ev.At.Sub(ev.Sent) < r.Window {
			return true, false
		}
		return false, true
	case proxyPrefetch:
		return true, false
	}
	return false, false
}

// HoneypotRule: the hidden link is fetched only by machines; every event
// of the same message within Span of such a fetch (before or after) is
// the same machine's.
type HoneypotRule struct{ Span time.Duration }

func (HoneypotRule) Name() string { return "honeypot" }
func (r HoneypotRule) Decide(ev *Event, group []*Event) (bool, bool) {
	if ev.Kind == Honeypot {
		return true, false
	}
	for _, o := range group {
		if o.Kind == Honeypot && absDur(o.At.Sub(ev.At)) <= r.Span {
			return true, false
		}
	}
	return false, false
}

// ScanWindowRule: gateways scan a message seconds after it arrives;
// nobody reads and clicks that fast. The send time travels in the token.
type ScanWindowRule struct{ Window time.Duration }

func (ScanWindowRule) Name() string { return "scan_window" }
func (r ScanWindowRule) Decide(ev *Event, _ []*Event) (bool, bool) {
	return ev.At.Sub(ev.Sent) < r.Window, false
}

// BurstRule: Links or more distinct links of one message fetched within
// Span of each other: a crawler, not a reader.
type BurstRule struct {
	Span  time.Duration
	Links int
}

func (BurstRule) Name() string { return "burst" }
func (r BurstRule) Decide(ev *Event, group []*Event) (bool, bool) {
	if ev.Kind != Click {
		return false, false
	}
	type key struct{ pos, link int }
	seen := map[key]bool{}
	for _, o := range group {
		if o.Kind == Click && absDur(o.At.Sub(ev.At)) <= r.Span {
			seen[key{o.Position, o.Link}] = true
		}
	}
	return len(seen) >= r.Links, false
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
