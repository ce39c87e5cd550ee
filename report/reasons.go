package report

// reasonLabels explain, in English and Chinese, the rule that counted an
// event as a machine's (or, for gmail_proxy, as a person's open); the keys
// are track_counts.reason.
var reasonLabels = map[string][2]string{
	"head":        {"HEAD request (a link checker, not a browser)", "HEAD 请求（链接检查程序，而非浏览器）"},
	"user_agent":  {"scanner, gateway or library user agent", "扫描器、安全网关或程序库的 User-Agent"},
	"scan_window": {"within seconds of delivery", "投递后数秒内"},
	"honeypot":    {"fetched the hidden link, or near a fetch of it", "访问了隐藏链接，或与之同时发生"},
	"burst":       {"many links of one message at once", "同一封邮件的多个链接同时被访问"},
	"apple_proxy": {"Apple Mail Privacy Protection proxy", "苹果邮件隐私保护代理"},
	"image_proxy": {"image proxy fetching on delivery", "投递时预取图片的代理"},
	"gmail_proxy": {"Gmail image proxy, after the scan window (a person)", "Gmail 图片代理，在扫描窗口之后（真人）"},
}

// ReasonLabel explains reason in lang ("zh" or anything else for English);
// an unknown reason is returned as it is.
func ReasonLabel(reason, lang string) string {
	l, ok := reasonLabels[reason]
	if !ok {
		return reason
	}
	if lang == "zh" {
		return l[1]
	}
	return l[0]
}
