package console

import (
	"net/http"
	"regexp"

	"github.com/tidings/tidings"
)

// The importer (package issues) words its problems in English, each with
// the line it points at. The people who paste a bulletin into the console
// are often Chinese-speaking editors, so on a Chinese page the problem is
// said in Chinese: one pattern per message of the importer, the quoted
// parts carried over. A message no pattern knows is shown as it is.
var importProblemsZH = []struct {
	re *regexp.Regexp
	zh string // with $1, $2… for the captured parts
}{
	{regexp.MustCompile(`^empty file$`), "文件是空的"},
	{regexp.MustCompile(`^not UTF-8 text \(byte (0x[0-9a-f]+)\); convert the file to UTF-8$`), "不是 UTF-8 文本（字节 $1）：请把文件另存为 UTF-8 编码"},
	{regexp.MustCompile(`^binary data \(NUL byte\), not a Markdown file$`), "这是二进制数据，不是 Markdown 文件"},
	{regexp.MustCompile(`^no title: begin the file with a "# Title" line, or with YAML front matter$`), "没有标题：文件第一行请写“# 标题”，或使用 YAML 头部信息"},
	{regexp.MustCompile(`^no issue number found: .*$`), "找不到期号：请在标题下写明期号（如“第7期”“No. 7”），或在头部信息中写 number:"},
	{regexp.MustCompile(`^no articles found: write one "## Title" heading per article$`), "没有找到文章：每篇文章请以一行“## 文章标题”开头"},
	{regexp.MustCompile(`^no articles found: the file holds only page numbers$`), "没有找到文章：文件里只有页码"},
	{regexp.MustCompile(`^no articles found: no table of contents entries and no headings below the title$`), "没有找到文章：标题下既没有目录，也没有文章标题"},
	{regexp.MustCompile(`^no articles found.*$`), "没有找到文章"},
	{regexp.MustCompile(`^table of contents entry ("[^"]*") matches no heading below it$`), "目录条目 $1 在正文中找不到对应的标题"},
	{regexp.MustCompile(`^article heading has no title$`), "文章标题行没有标题文字"},
	{regexp.MustCompile(`^unknown topic ("[^"]*") \(the list has no topics yet\)$`), "未知主题 $1（本刊物还没有任何主题）"},
	{regexp.MustCompile(`^unknown topic ("[^"]*") \(known: (.*)\)$`), "未知主题 $1（现有主题：$2）"},
	{regexp.MustCompile(`^unknown heading attribute ("[^"]*") \(want \{topics=slug,slug\}\)$`), "无法识别的标题属性 $1（应写成 {topics=主题,主题}）"},
	{regexp.MustCompile(`^front matter is not closed: add a line "(---|\+\+\+)" after it$`), "头部信息没有结束：请在其后加一行“$1”"},
	{regexp.MustCompile(`^front matter: title is missing$`), "头部信息缺少标题（title）"},
	{regexp.MustCompile(`^front matter: number is missing.*$`), "头部信息缺少期号（number，需为正整数）"},
	{regexp.MustCompile(`^(?:front matter|header): unknown key ("[^"]*") \(known: (.*)\)$`), "头部信息中有无法识别的项 $1（可用：$2）"},
	{regexp.MustCompile(`^(?:front matter|header): number ("[^"]*"): want a positive whole number$`), "期号 $1 不是正整数"},
	{regexp.MustCompile(`^header: (\w+) given twice$`), "头部信息中“$1”出现了两次"},
	{regexp.MustCompile(`^header: ("[^"]*") is not a "Key: value" line; end the header with a blank line$`), "头部信息中 $1 不是“键: 值”格式；头部信息后请空一行"},
	{regexp.MustCompile(`^front matter: (\w+): want text or a number.*$`), "头部信息“$1”应为文字或数字"},
	{regexp.MustCompile(`^front matter: (.*)$`), "头部信息有误：$1"},
}

// opsProblemsZH are the problems of ops an editor meets most (a send time,
// an address), said in Chinese on a Chinese page; others show as ops
// words them, after the field's name in Chinese.
var opsProblemsZH = []struct {
	re *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^time (.*) is in the past \(now (.*)\): give a future time or \+DURATION$`), "时间 $1 已经过去（现在是 $2）：请选一个将来的时间"},
	{regexp.MustCompile(`^time ("[^"]*"): want .*$`), "时间 $1 格式不对：请写成“2006-01-02 15:04”"},
	{regexp.MustCompile(`^email ("[^"]*"): .*$`), "邮箱地址 $1 无效"},
}

// opsProblem is an ops problem in the page's language, when it is one an
// editor meets often; "" otherwise.
func (h *handler) opsProblem(r *http.Request, msg string) string {
	if h.language(r) != tidings.LangZH {
		return ""
	}
	for _, p := range opsProblemsZH {
		if p.re.MatchString(msg) {
			return p.re.ReplaceAllString(msg, p.zh)
		}
	}
	return ""
}

// importProblem is the importer's problem in the page's language.
func (h *handler) importProblem(r *http.Request, msg string) string {
	if h.language(r) != tidings.LangZH {
		return msg
	}
	return importProblemZH(msg)
}

func importProblemZH(msg string) string {
	for _, p := range importProblemsZH {
		if p.re.MatchString(msg) {
			return p.re.ReplaceAllString(msg, p.zh)
		}
	}
	return msg
}
