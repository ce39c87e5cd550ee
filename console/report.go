package console

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/report"
)

// reportPage is the data of report.html: one issue's figures, the chart
// of human clicks over the first 48 hours, the machine share with its
// reasons, and the article, topic and link tables.
type reportPage struct {
	R         *report.Report
	Chart     template.HTML // server-rendered SVG
	Hours     []reportHour  // the chart's data as a table
	Reasons   []reasonRow
	Articles  []articleRow
	ClickRate string // "12.5%", "" when clicks are off
	Unique    string // unique human clickers, "" unless the list tracks individually
	Sent      string // when the send started, in the list's zone
	CSV       string // the CSV download's address
	Trend     []trendRow
}

// trendRow is one of the list's recent sent issues, for comparison.
type trendRow struct {
	Issue        int64
	Number       int
	Title        string
	Sent         string
	Recipients   int
	Delivered    int
	Unsubscribed int
	ClicksHuman  int
	ClickRate    string
	Current      bool
}

type reportHour struct {
	From  string // local time of the hour's start
	Hour  int    // hours after the send started
	Human int
}

type articleRow struct {
	report.Article
	Per100 string // human clicks per 100 recipients
}

type reasonRow struct {
	Rule   string
	Label  string
	Events int
}

func (h *handler) reportShow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	a := actorOf(r)
	rep, err := h.ops.Report(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	var list *tidings.List
	if l, err := h.ops.List(r.Context(), a, rep.List); err == nil {
		list = l
	}
	loc := time.UTC
	if list != nil {
		loc = list.Location()
	}
	lang := h.language(r)
	c := catalogs[lang]
	p := reportPage{R: rep, CSV: prefix + "/issues/" + itoa(id) + "/report.csv", Sent: whenZone(rep.SentAt, loc)}
	if cr := rep.ClickRate(); cr >= 0 {
		p.ClickRate = strconv.FormatFloat(100*cr, 'f', 1, 64) + "%"
	}
	if rep.UniqueClickers != nil {
		p.Unique = num(*rep.UniqueClickers)
	}
	for _, k := range rep.SortedReasons() {
		p.Reasons = append(p.Reasons, reasonRow{Rule: k, Label: report.ReasonLabel(k, string(lang)), Events: rep.MachineReasons[k]})
	}
	for _, ar := range rep.Articles {
		p.Articles = append(p.Articles, articleRow{ar, per100(ar.ClicksHuman, ar.Recipients)})
	}
	if rs, err := h.ops.Trend(r.Context(), a, rep.List, trendIssues); err == nil && len(rs) > 1 {
		for _, x := range rs {
			row := trendRow{Issue: x.Issue, Number: x.Number, Title: x.Title, Sent: when(x.SentAt, loc), Recipients: x.Recipients,
				Delivered: x.Delivered, Unsubscribed: x.Unsubscribed, ClicksHuman: x.Clicks.Human, ClickRate: "–", Current: x.Issue == id}
			if cr := x.ClickRate(); cr >= 0 && x.Delivered > 0 {
				row.ClickRate = strconv.FormatFloat(100*cr, 'f', 1, 64) + "%"
			}
			p.Trend = append(p.Trend, row)
		}
	} else if err != nil {
		h.log.Warn("console: report trend", "list", rep.List, "err", err)
	}
	total := 0
	for i, pt := range rep.Timeline {
		p.Hours = append(p.Hours, reportHour{From: when(pt.At, loc), Hour: i, Human: pt.Human})
		total += pt.Human
	}
	if len(rep.Timeline) > 0 {
		p.Chart = clicksChart(rep.Timeline, c.text("report.chart.title"),
			c.text("report.chart.desc", total, report.TimelineHours, p.Sent), c.text("report.chart.hour"))
	}
	h.render(w, r, http.StatusOK, "report", view{Title: c.text("report.title", rep.Number, rep.Title), List: list, IssueID: id, Data: p})
}

// trendIssues is how many of the list's recent issues the page compares.
const trendIssues = 10

// reportCSV downloads the report as CSV (report.WriteCSV's layout).
func (h *handler) reportCSV(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	var buf bytes.Buffer // whole, so that a failure can still be an error page
	if err := h.ops.ReportCSV(r.Context(), actorOf(r), id, &buf); err != nil {
		h.opsError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tidings-report-issue-`+itoa(id)+`.csv"`)
	w.Write(buf.Bytes())
}

// reportTexts are the report page's words, English then Chinese; init
// adds them to the console's catalogs.
var reportTexts = map[string][2]string{
	"tab.report":             {"Report", "报告"},
	"report.title":           {"Report: #%d %s", "报告：第 %d 期 %s"},
	"report.sent":            {"Send started %s", "发送开始于 %s"},
	"report.unsent":          {"This issue has not been sent yet: the figures appear once it is.", "本期尚未发送，发送后这里会显示数据。"},
	"report.csv":             {"Download CSV", "下载 CSV"},
	"report.summary":         {"Delivery", "投递"},
	"report.recipients":      {"Recipients", "收件人"},
	"report.delivered":       {"Delivered", "已送达"},
	"report.bounced":         {"Bounced", "退信"},
	"report.bounced.split":   {"hard %d, soft %d", "硬退信 %d，软退信 %d"},
	"report.complaints":      {"Complaints", "投诉"},
	"report.unsubscribed":    {"Unsubscribed after this issue", "本期后退订"},
	"report.engagement":      {"People and machines", "真人与机器"},
	"report.clicks":          {"Human clicks", "真人点击"},
	"report.opens":           {"Human opens (estimate)", "真人打开（估计）"},
	"report.unique":          {"Readers who clicked", "点击的读者"},
	"report.clickrate":       {"Click rate", "点击率"},
	"report.machine":         {"Machine share", "机器占比"},
	"report.machine.clicks":  {"%d%% of %d clicks were machines'", "%[2]d 次点击中 %[1]d%% 来自机器"},
	"report.machine.opens":   {"%d%% of %d opens were machines'", "%[2]d 次打开中 %[1]d%% 来自机器"},
	"report.machine.none":    {"No machine traffic counted.", "未发现机器访问。"},
	"report.reasons":         {"Why events were counted as machines'", "判定为机器的原因"},
	"report.rule":            {"Rule", "规则"},
	"report.events":          {"Events", "次数"},
	"report.off":             {"This list does not track clicks.", "本列表不统计点击。"},
	"report.opens.off":       {"Opens are not tracked.", "不统计打开。"},
	"report.chart":           {"Human clicks per hour, first 48 hours", "前 48 小时每小时真人点击"},
	"report.chart.title":     {"Human clicks per hour over the first 48 hours", "前 48 小时每小时的真人点击"},
	"report.chart.desc":      {"Bar chart: %d human clicks in the %d hours after the send started (%s). The table below has the same figures.", "柱状图：发送开始（%[3]s）后 %[2]d 小时内共 %[1]d 次真人点击。下方表格列出相同数据。"},
	"report.chart.hour":      {"hour", "小时"},
	"report.chart.table":     {"The chart's figures as a table", "图表数据（表格）"},
	"report.chart.from":      {"Hour starting", "起始时间"},
	"report.chart.after":     {"Hours after send", "发送后小时"},
	"report.articles":        {"Articles", "文章"},
	"report.article.pos":     {"#", "序号"},
	"report.article.title":   {"Title", "标题"},
	"report.article.topics":  {"Topics", "主题"},
	"report.article.all":     {"everyone", "全部读者"},
	"report.human":           {"Human clicks", "真人点击"},
	"report.machineclicks":   {"Machine clicks", "机器点击"},
	"report.perrecipient":    {"Human clicks per 100 recipients", "每百名收件人真人点击"},
	"report.topics":          {"Topics", "主题"},
	"report.topic":           {"Topic", "主题"},
	"report.topic.articles":  {"Human clicks on its articles", "其文章的真人点击"},
	"report.topic.readers":   {"Human clicks by its readers", "其读者的真人点击"},
	"report.links":           {"Links", "链接"},
	"report.link":            {"Link", "链接"},
	"report.link.article":    {"Article", "文章"},
	"report.links.none":      {"No tracked links in this issue.", "本期没有被追踪的链接。"},
	"report.unique.null":     {"counted only when the list tracks individually", "仅在按个人统计时计数"},
	"report.tracking":        {"Tracking: clicks %s, opens %s", "统计方式：点击 %s，打开 %s"},
	"report.mode.off":        {"off", "关闭"},
	"report.mode.aggregate":  {"in aggregate", "仅汇总"},
	"report.mode.individual": {"per reader", "按读者"},
	"report.articles.none":   {"This issue has no articles.", "本期没有文章。"},
	"report.topics.none":     {"This list has no topics.", "本列表没有主题。"},
	"report.chart.unsent":    {"The chart starts when the send does.", "发送开始后显示图表。"},
	"report.estimate.note":   {"Opens are estimates: images may be blocked or fetched by proxies. Clicks are the figure to trust.", "打开数只是估计：图片可能被屏蔽或被代理预取。点击数更可信。"},
	"report.unsub.note":      {"Readers of this issue whose subscription ended after its send started and before the list's next send.", "本期收件人中，在本期发送开始后、下一期发送前退订的人数。"},
	"report.delivered.note":  {"Accepted by the receiving server and not bounced since.", "收件服务器已接收且之后未退信。"},
	"report.clickrate.note":  {"Readers who clicked (or human clicks) per delivered message.", "每封送达邮件的点击读者数（或真人点击数）。"},
	"report.trend":           {"This list's recent issues", "本列表近期各期"},
	"report.trend.issue":     {"Issue", "期号"},
	"report.trend.sent":      {"Sent", "发送时间"},
	"report.recipients.note": {"Readers the issue was addressed to (readers whose topics chose no article are not counted).", "本期的收件读者（所选主题没有文章的读者不计）。"},
}

func init() {
	for k, v := range reportTexts {
		textsEN[k], textsZH[k] = v[0], v[1]
	}
}

// per100 is n per 100 of, with one decimal ("–" when of is 0).
func per100(n, of int) string {
	if of == 0 {
		return "–"
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64)
}
