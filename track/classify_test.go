package track

import (
	"net/netip"
	"testing"
	"time"
)

// User-Agents as recorded from real requests (vendor docs and logs).
const (
	uaFirefox   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0"
	uaSafariIOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	uaGmail     = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
	uaBing      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/W.X.Y.Z Safari/537.36 BingPreview/1.0b"
	uaMimecast  = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
	uaBarracuda = "Mozilla/5.0 (compatible; Barracuda Sentinel link protection)"
	uaSlack     = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
	uaRequests  = "python-requests/2.32.3"
	uaCurl      = "curl/8.5.0"
	uaGo        = "Go-http-client/1.1"
	uaJava      = "Java/17.0.2"
	uaYahoo     = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
)

var (
	ipHome  = netip.MustParseAddr("203.0.113.9")
	ipApple = netip.MustParseAddr("17.58.101.7")
)

func ev(kind Kind, pos, link int, after time.Duration, method, ua string, ip netip.Addr) *Event {
	return &Event{Ref: Ref{Kind: kind, Issue: 1, Position: pos, Link: link, Sent: sentAt, Nonce: 1}, At: sentAt.Add(after), Method: method, UA: ua, IP: ip}
}

// Each rule on its own, on recorded request patterns: what it catches and
// what it must let through.
func TestRules(t *testing.T) {
	late := time.Hour
	type row struct {
		name    string
		ev      *Event
		group   []*Event // other events of the message
		machine bool
		human   bool
	}
	cases := []struct {
		rule Rule
		rows []row
	}{
		{HeadRule{}, []row{
			{name: "gateway HEAD", ev: ev(Click, 1, 1, 2*time.Second, "HEAD", uaFirefox, ipHome), machine: true},
			{name: "browser GET", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome)},
		}},
		{UserAgentRule{}, []row{
			{name: "empty", ev: ev(Click, 1, 1, late, "GET", "", ipHome), machine: true},
			{name: "spaces", ev: ev(Click, 1, 1, late, "GET", "   ", ipHome), machine: true},
			{name: "Safe Links BingPreview", ev: ev(Click, 1, 1, late, "GET", uaBing, ipHome), machine: true},
			{name: "Mimecast", ev: ev(Click, 1, 1, late, "GET", uaMimecast, ipHome), machine: true},
			{name: "Barracuda", ev: ev(Click, 1, 1, late, "GET", uaBarracuda, ipHome), machine: true},
			{name: "Slack unfurl", ev: ev(Click, 1, 1, late, "GET", uaSlack, ipHome), machine: true},
			{name: "python-requests", ev: ev(Click, 1, 1, late, "GET", uaRequests, ipHome), machine: true},
			{name: "curl", ev: ev(Click, 1, 1, late, "GET", uaCurl, ipHome), machine: true},
			{name: "Go", ev: ev(Click, 1, 1, late, "GET", uaGo, ipHome), machine: true},
			{name: "Java", ev: ev(Click, 1, 1, late, "GET", uaJava, ipHome), machine: true},
			{name: "Firefox", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome)},
			{name: "iPhone Safari", ev: ev(Click, 1, 1, late, "GET", uaSafariIOS, ipHome)},
			{name: "Gmail proxy is not a scanner", ev: ev(Open, 0, 0, late, "GET", uaGmail, ipHome)},
		}},
		{AppleProxyRule{}, []row{
			{name: "open from Apple's range", ev: ev(Open, 0, 0, late, "GET", uaSafariIOS, ipApple), machine: true},
			{name: "open with MPP's bare UA", ev: ev(Open, 0, 0, late, "GET", "Mozilla/5.0", ipHome), machine: true},
			{name: "IPv4-mapped Apple address", ev: ev(Open, 0, 0, late, "GET", uaSafariIOS, netip.MustParseAddr("::ffff:17.1.2.3")), machine: true},
			{name: "click from Apple's range is a person on iCloud", ev: ev(Click, 1, 1, late, "GET", uaSafariIOS, ipApple)},
			{name: "open at home", ev: ev(Open, 0, 0, late, "GET", uaSafariIOS, ipHome)},
		}},
		{ImageProxyRule{Window: 15 * time.Second}, []row{
			{name: "Gmail proxy on delivery", ev: ev(Open, 0, 0, 3*time.Second, "GET", uaGmail, ipHome), machine: true},
			{name: "Gmail proxy later: a person opened it", ev: ev(Open, 0, 0, late, "GET", uaGmail, ipHome), human: true},
			{name: "Yahoo proxy later", ev: ev(Open, 0, 0, late, "GET", uaYahoo, ipHome), human: true},
			{name: "prefetching proxy", ev: ev(Open, 0, 0, late, "GET", "Outlook-iOS/723.4027091.prod.iphone (4.61.0)", ipHome), machine: true},
			{name: "browser", ev: ev(Open, 0, 0, late, "GET", uaFirefox, ipHome)},
			{name: "clicks are not its business", ev: ev(Click, 1, 1, late, "GET", uaGmail, ipHome)},
		}},
		{HoneypotRule{Span: 3 * time.Minute}, []row{
			{name: "the honeypot itself", ev: ev(Honeypot, 0, 0, late, "GET", uaFirefox, ipHome), machine: true},
			{name: "click 1 min before the honeypot", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Honeypot, 0, 0, late+time.Minute, "GET", uaFirefox, ipHome)}, machine: true},
			{name: "open 2 min after the honeypot", ev: ev(Open, 0, 0, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Honeypot, 0, 0, late-2*time.Minute, "GET", uaFirefox, ipHome)}, machine: true},
			{name: "click an hour after the honeypot", ev: ev(Click, 1, 1, 2*late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Honeypot, 0, 0, late, "GET", uaFirefox, ipHome)}},
		}},
		{ScanWindowRule{Window: 15 * time.Second}, []row{
			{name: "3 s after delivery", ev: ev(Click, 1, 1, 3*time.Second, "GET", uaFirefox, ipHome), machine: true},
			{name: "14.9 s", ev: ev(Click, 1, 1, 14900*time.Millisecond, "GET", uaFirefox, ipHome), machine: true},
			{name: "15 s", ev: ev(Click, 1, 1, 15*time.Second, "GET", uaFirefox, ipHome)},
			{name: "an hour", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome)},
		}},
		{BurstRule{Span: 2 * time.Second, Links: 3}, []row{
			{name: "three links in a second", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Click, 1, 2, late+300*time.Millisecond, "GET", uaFirefox, ipHome), ev(Click, 2, 1, late+900*time.Millisecond, "GET", uaFirefox, ipHome)}, machine: true},
			{name: "the same link three times (a double click, a reload)", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Click, 1, 1, late+time.Second, "GET", uaFirefox, ipHome), ev(Click, 1, 1, late+time.Second, "GET", uaFirefox, ipHome)}},
			{name: "three links a minute apart", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Click, 1, 2, late+time.Minute, "GET", uaFirefox, ipHome), ev(Click, 2, 1, late+2*time.Minute, "GET", uaFirefox, ipHome)}},
			{name: "two links", ev: ev(Click, 1, 1, late, "GET", uaFirefox, ipHome),
				group: []*Event{ev(Click, 1, 2, late+time.Second, "GET", uaFirefox, ipHome)}},
		}},
	}
	for _, c := range cases {
		for _, r := range c.rows {
			t.Run(c.rule.Name()+"/"+r.name, func(t *testing.T) {
				group := append([]*Event{r.ev}, r.group...)
				m, h := c.rule.Decide(r.ev, group)
				if m != r.machine || h != r.human {
					t.Errorf("machine=%v human=%v, want %v %v", m, h, r.machine, r.human)
				}
			})
		}
	}
}

// The classifier records the first deciding rule as the reason.
func TestClassifierReason(t *testing.T) {
	c := NewClassifier(DefaultScanWindow)
	for _, x := range []struct {
		ev     *Event
		reason string
		human  bool
	}{
		{ev(Click, 1, 1, time.Second, "HEAD", "", ipHome), "head", false},
		{ev(Click, 1, 1, time.Second, "GET", uaCurl, ipHome), "user_agent", false},
		{ev(Click, 1, 1, time.Second, "GET", uaFirefox, ipHome), "scan_window", false},
		{ev(Open, 0, 0, time.Hour, "GET", uaGmail, ipHome), "gmail_proxy", true},
		{ev(Open, 0, 0, time.Hour, "GET", uaSafariIOS, ipApple), "apple_proxy", false},
		{ev(Click, 1, 1, time.Hour, "GET", uaFirefox, ipHome), "", true},
	} {
		v := c.Classify(x.ev, []*Event{x.ev})
		if v.Reason != x.reason || v.Machine == x.human {
			t.Errorf("%s %s: %+v, want reason %q human=%v", x.ev.Method, x.ev.UA, v, x.reason, x.human)
		}
	}
}
