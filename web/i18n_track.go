package web

import "github.com/tidings/tidings"

// trackTexts say on the preference page what the list's engagement
// tracking (package track) records, in plain words. They join texts at
// start-up; TestTextsComplete checks both languages as for every text.
var trackTexts = map[tidings.Lang]map[string]string{
	tidings.LangEN: {
		"prefs.privacy":           "What we count",
		"prefs.clicks.off":        "Links in our mail lead straight to their pages: we do not count clicks.",
		"prefs.clicks.aggregate":  "Links in our mail pass through our server so we can count clicks per issue and article. We do not record who clicked.",
		"prefs.clicks.individual": "Links in our mail pass through our server, which records the links you click, to learn which articles interest our readers. We keep these records for %d days; deleting your data erases them.",
		"prefs.opens.off":         "We do not track whether you open our mail.",
		"prefs.opens.aggregate":   "A tiny image counts how many readers open each issue (a rough estimate). We do not record who opened it.",
		"prefs.opens.individual":  "A tiny image records when you open our mail (a rough estimate; blocking images stops it). We keep these records for %d days.",
	},
	tidings.LangZH: {
		"prefs.privacy":           "我们统计什么",
		"prefs.clicks.off":        "邮件中的链接直接指向原网页，我们不统计点击。",
		"prefs.clicks.aggregate":  "邮件中的链接经由我们的服务器跳转，以便按期次和文章统计点击数；我们不记录是谁点击的。",
		"prefs.clicks.individual": "邮件中的链接经由我们的服务器跳转，服务器会记录您点击了哪些链接，以了解读者关心哪些文章。这些记录保留 %d 天；删除您的数据时一并清除。",
		"prefs.opens.off":         "我们不追踪您是否打开邮件。",
		"prefs.opens.aggregate":   "邮件中的一张极小图片用于统计每期的打开人数（仅为粗略估计）；我们不记录是谁打开的。",
		"prefs.opens.individual":  "邮件中的一张极小图片会记录您打开邮件的时间（仅为粗略估计，屏蔽图片即可阻止）。这些记录保留 %d 天。",
	},
}

func init() {
	for lang, m := range trackTexts {
		for k, v := range m {
			texts[lang][k] = v
		}
	}
}
