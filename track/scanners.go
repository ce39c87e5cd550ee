package track

import (
	"net/netip"
	"strings"
)

// scanners is every User-Agent fragment that marks a machine: mail
// gateways and link scanners, link-preview unfurlers, and HTTP libraries.
// Matching is case-insensitive on a substring. To add one, add a line
// with where the fragment is documented or observed.
var scanners = []struct{ fragment, source string }{
	// mail security gateways and link protection
	{"barracuda", "Barracuda Email Protection link scanning: https://campus.barracuda.com/product/emailgatewaydefense/doc/96026600/link-protection/"},
	{"mimecast", "Mimecast URL Protect: https://community.mimecast.com/s/article/email-security-cloud-gateway-url-protect"},
	{"proofpoint", "Proofpoint URL Defense: https://help.proofpoint.com/Proofpoint_Essentials/Email_Security/Administrator_Topics/URL_Defense"},
	{"bingpreview", "Microsoft BingPreview, used by Safe Links / Defender for Office 365: https://www.bing.com/webmasters/help/which-crawlers-does-bing-use-8c184ec0"},
	{"microsoft office existence discovery", "Office checks a link exists before opening it: https://learn.microsoft.com/en-us/office/troubleshoot/office-suite-issues/click-hyperlink-to-sso-website"},
	{"skypeuripreview", "Microsoft Teams / Skype link previews: https://learn.microsoft.com/en-us/microsoftteams/platform/messaging-extensions/how-to/link-unfurling"},
	{"ironport", "Cisco Secure Email (IronPort) URL filtering: https://www.cisco.com/c/en/us/support/docs/security/email-security-appliance/118775-technote-esa-00.html"},
	{"cisco", "Cisco Secure Email Threat Defense: https://docs.cisco.com/en/US/docs/security/ces/user_guide/esa_user_guide/"},
	{"sophos", "Sophos Email Time-of-Click URL protection: https://docs.sophos.com/central/customer/help/en-us/ManageYourProducts/EmailSecurity/"},
	{"trendmicro", "Trend Micro Email Security web reputation: https://docs.trendmicro.com/en-us/documentation/article/trend-micro-email-security-online-help-web-reputation-settings"},
	{"trend micro", "same, spelled with a space"},
	{"fireeye", "FireEye / Trellix Email Security URL analysis: https://docs.trellix.com/bundle/email-security-cloud"},
	{"trellix", "Trellix (formerly FireEye) scanners"},
	{"symantec", "Symantec / Broadcom Email Security.cloud Click-time URL Protection: https://techdocs.broadcom.com/us/en/symantec-security-software/email-security/email-security-cloud.html"},
	{"messagelabs", "Symantec.cloud, formerly MessageLabs (same source)"},
	{"fortinet", "FortiMail URL click protection: https://docs.fortinet.com/document/fortimail/"},
	{"fortiguard", "FortiGuard web filtering crawler (same vendor)"},
	{"zscaler", "Zscaler sandbox fetches: https://help.zscaler.com/zia/about-sandbox"},
	{"paloalto", "Palo Alto Networks URL filtering crawler: https://docs.paloaltonetworks.com/"},
	{"headlesschrome", "headless Chrome: sandboxes that render links (Chrome's own UA token): https://developer.chrome.com/docs/chromium/headless"},
	// chat and social link unfurlers
	{"slackbot", "Slack link expanding: https://api.slack.com/robots"},
	{"slack-imgproxy", "Slack image proxy: https://api.slack.com/robots"},
	{"discordbot", "Discord embeds: https://discord.com/developers/docs/resources/message#embed-object"},
	{"telegrambot", "Telegram link previews: https://core.telegram.org/bots/webapps"},
	{"whatsapp", "WhatsApp link previews: https://developers.facebook.com/docs/whatsapp/link-previews"},
	{"facebookexternalhit", "Facebook crawler: https://developers.facebook.com/docs/sharing/webmasters/web-crawlers/"},
	{"twitterbot", "X/Twitter cards: https://developer.x.com/en/docs/x-for-websites/cards/guides/getting-started"},
	{"linkedinbot", "LinkedIn previews: https://www.linkedin.com/help/linkedin/answer/a521928"},
	// HTTP libraries and tools: a person's browser is none of these
	{"python-requests", "Python requests default UA: https://requests.readthedocs.io/"},
	{"python-urllib", "Python urllib default UA: https://docs.python.org/3/library/urllib.request.html"},
	{"aiohttp", "Python aiohttp default UA: https://docs.aiohttp.org/"},
	{"curl/", "curl default UA: https://curl.se/docs/manpage.html#-A"},
	{"wget", "GNU Wget default UA: https://www.gnu.org/software/wget/manual/wget.html"},
	{"go-http-client", "Go net/http default UA: https://pkg.go.dev/net/http"},
	{"java/", "Java HttpURLConnection default UA: https://docs.oracle.com/javase/8/docs/technotes/guides/net/http-keepalive.html"},
	{"java-http-client", "java.net.http.HttpClient default UA: https://docs.oracle.com/en/java/javase/21/docs/api/java.net.http/java/net/http/HttpClient.html"},
	{"apache-httpclient", "Apache HttpClient default UA: https://hc.apache.org/"},
	{"okhttp", "OkHttp default UA: https://square.github.io/okhttp/"},
	{"libwww-perl", "Perl LWP default UA: https://metacpan.org/pod/LWP::UserAgent"},
	{"node-fetch", "node-fetch default UA: https://github.com/node-fetch/node-fetch"},
	{"axios", "axios default UA: https://axios-http.com/"},
	{"httpie", "HTTPie default UA: https://httpie.io/docs/cli"},
	{"scrapy", "Scrapy default UA: https://docs.scrapy.org/en/latest/topics/settings.html#user-agent"},
}

// KnownScanner is the scanner fragment ua contains, or "".
func KnownScanner(ua string) string {
	l := strings.ToLower(ua)
	for _, s := range scanners {
		if strings.Contains(l, s.fragment) {
			return s.fragment
		}
	}
	return ""
}

type proxyKind int

const (
	proxyNone     proxyKind = iota
	proxyOnOpen             // fetches when the reader opens the message
	proxyPrefetch           // fetches on delivery, whether or not anyone reads
)

// imageProxies are webmail image proxies by User-Agent fragment.
var imageProxies = []struct {
	fragment, source string
	kind             proxyKind
}{
	{"googleimageproxy", "Gmail image proxy (\"… (via ggpht.com GoogleImageProxy)\"), fetches when the message is opened: https://support.google.com/mail/answer/145919", proxyOnOpen},
	{"yahoomailproxy", "Yahoo Mail image proxy (\"YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html\")", proxyOnOpen},
	{"outlook-ios", "Outlook for iOS image prefetch: https://learn.microsoft.com/en-us/exchange/clients-and-mobile-in-exchange-online/outlook-for-ios-and-android/outlook-for-ios-and-android-faq", proxyPrefetch},
}

func imageProxy(ua string) proxyKind {
	l := strings.ToLower(ua)
	for _, p := range imageProxies {
		if strings.Contains(l, p.fragment) {
			return p.kind
		}
	}
	return proxyNone
}

// appleProxyUA is the bare User-Agent of Mail Privacy Protection's
// fetches (observed and documented by ESPs, e.g.
// https://www.litmus.com/blog/apple-mail-privacy-protection-for-marketers).
const appleProxyUA = "Mozilla/5.0"

// appleRanges are the networks Mail Privacy Protection fetches from.
// Apple runs its proxies in its own 17.0.0.0/8 (ARIN NET-17-0-0-0-1,
// https://whois.arin.net/rest/net/NET-17-0-0-0-1) and through the iCloud
// Private Relay egress list, whose published ranges are at
// https://mask-api.icloud.com/egress-ip-ranges.csv (the few below are
// its Apple-operated blocks; the full list is large and changes).
var appleRanges = mustPrefixes(
	"17.0.0.0/8",
	"2620:149::/32",  // Apple Inc. IPv6 (ARIN NET6-2620-149-1)
	"2a01:b740::/32", // Apple Inc. IPv6 (RIPE)
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// InAppleProxy reports an address in Apple's proxy ranges.
func InAppleProxy(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, p := range appleRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
