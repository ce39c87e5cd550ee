package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jhillyerd/enmime/v2"
	"github.com/spf13/cobra"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/smtpsink"
)

// demoIssue is the sample bulletin, shipped inside the binary so the demo
// needs no file of its own.
//
//go:embed demo/keji-qingbao-2024-07.md
var demoIssue []byte

// demoTopics tag the sample's five articles: every article gets at least
// one topic, none gets all, and 芯片与半导体 matches no article of this
// issue, so its readers show what "nothing for you this time" looks like.
var demoTopics = []struct{ slug, name, keywords string }{
	{"yanglao", "养老科技", "养老,老年,银发"},
	{"yiyao", "生物医药", "生物医药,医疗器械,药品"},
	{"zhuanhua", "成果转化", "成果转化,产学研"},
	{"kechuang", "独角兽与科创", "独角兽,科创高地"},
	{"xinzhi", "新质生产力", "新质生产力"},
	{"xinpian", "芯片与半导体", "芯片,半导体,集成电路"},
}

type demoPerson struct{ email, name, topics, status string }

// demoPeople: 36 readers with different choices; one pending (never
// confirmed), one unsubscribed, and three whose topics have no article
// in this issue.
var demoPeople = []demoPerson{
	{"wang.fang@example.cn", "王芳", "all", ""},
	{"li.na@example.cn", "李娜", "yanglao", ""},
	{"zhang.wei@example.com", "张伟", "yiyao", ""},
	{"liu.yang@example.net", "刘洋", "zhuanhua", ""},
	{"chen.jing@example.org", "陈静", "kechuang", ""},
	{"yang.min@example.cn", "杨敏", "xinzhi", ""},
	{"zhao.lei@example.com", "赵磊", "xinpian", ""},
	{"huang.li@example.cn", "黄丽", "yanglao;yiyao", ""},
	{"zhou.qiang@example.net", "周强", "zhuanhua;kechuang", ""},
	{"wu.xia@example.org", "吴霞", "xinzhi;xinpian", ""},
	{"xu.jun@example.cn", "徐军", "all", ""},
	{"sun.hua@example.com", "孙华", "yiyao;xinzhi", ""},
	{"ma.chao@example.cn", "马超", "xinpian", ""},
	{"zhu.lin@example.net", "朱琳", "yanglao;zhuanhua", ""},
	{"hu.bo@example.org", "胡波", "kechuang;xinzhi", ""},
	{"guo.ying@example.cn", "郭英", "all", ""},
	{"he.tao@example.com", "何涛", "yanglao", ""},
	{"lin.xue@example.cn", "林雪", "yiyao;zhuanhua;kechuang", ""},
	{"luo.gang@example.net", "罗刚", "xinzhi", ""},
	{"gao.yan@example.org", "高燕", "zhuanhua", ""},
	{"liang.hui@example.cn", "梁慧", "yanglao;xinpian", ""},
	{"song.jie@example.com", "宋杰", "kechuang", ""},
	{"zheng.hong@example.cn", "郑红", "all", ""},
	{"xie.feng@example.net", "谢峰", "yiyao", ""},
	{"han.mei@example.org", "韩梅", "none", ""},
	{"tang.ming@example.cn", "唐明", "zhuanhua;xinzhi", ""},
	{"feng.yu@example.com", "冯宇", "yanglao;yiyao;xinzhi", ""},
	{"deng.qian@example.cn", "邓倩", "kechuang;xinpian", ""},
	{"cao.rui@example.net", "曹睿", "all", ""},
	{"peng.fei@example.org", "彭飞", "xinzhi;zhuanhua;yiyao", ""},
	{"ada.lovelace@example.org", "Ada Lovelace", "yiyao", ""},
	{"tom.becker@example.com", "Tom Becker", "kechuang;xinzhi", ""},
	{"qian.lu@example.com", "钱璐", "xinpian;yanglao", ""},
	{"jiang.tao@example.cn", "蒋涛", "zhuanhua;kechuang;xinzhi", ""},
	{"xu.jing@example.cn", "许静", "all", "pending"},
	{"lu.di@example.cn", "卢迪", "all", "unsubscribed"},
}

// The demo's own files; a run deletes these (and only these) and starts
// afresh. The marker tells a demo folder from any other.
const demoMarker = ".tidings-demo"

var demoFiles = []string{demoMarker, "tidings.db", "tidings.db-wal", "tidings.db-shm", "subscribers.csv", "issue.md"}

func newDemoCmd(a *App) *cobra.Command {
	var once, verbose bool
	var dir string
	c := &cobra.Command{
		Use:   "demo [--once] [--dir DIR]",
		Short: "A complete local run: sample list, readers and issue, sent by the real daemon to a built-in mailbox",
		Long: `demo needs nothing configured and no network. In ./demo (or --dir; a
temporary folder when ./demo cannot be made) it creates a database with a
Chinese list for the bundled sample bulletin, six topics, 36 sample readers
with different topic choices, imports the sample issue and schedules it a
few seconds ahead. Then it runs the real daemon (tidings serve) with a
built-in SMTP server on 127.0.0.1 that captures every message, prints who
got which articles, and the addresses where the captured mails and the
reader pages can be seen in a browser.

Each run starts afresh: it deletes only the files an earlier demo made in
that folder, and refuses a folder holding anything else.

--once exits (status 0) when the send is done; without it the daemon keeps
serving until Ctrl-C.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDemo(cmd.Context(), dir, cmd.Flags().Changed("dir"), cmd.Flags().Changed("http"), once, verbose)
		},
	}
	c.Flags().BoolVar(&once, "once", false, "exit when the send is done (scripts, CI)")
	c.Flags().StringVar(&dir, "dir", "demo", "folder for the demo's database and files")
	c.Flags().BoolVar(&verbose, "verbose", false, "show the daemon's log")
	return c
}

// prepareDemoDir makes (or empties of earlier demo files) the folder.
func prepareDemoDir(dir string, explicit bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil || !writable(dir) {
		if explicit {
			return "", fmt.Errorf("demo: folder %s: cannot write there (give another --dir)", dir)
		}
		tmp, terr := os.MkdirTemp("", "tidings-demo-")
		if terr != nil {
			return "", fmt.Errorf("demo: no folder to work in: %w", terr)
		}
		dir = tmp
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	ours := len(entries) == 0
	var foreign []string
	for _, e := range entries {
		if e.Name() == demoMarker {
			ours = true
		}
		if !slices.Contains(demoFiles, e.Name()) {
			foreign = append(foreign, e.Name())
		}
	}
	if !ours || len(foreign) > 0 {
		return "", fmt.Errorf("demo: folder %s holds files the demo did not make (%s): give an empty or new folder with --dir", dir, strings.Join(foreign, ", "))
	}
	for _, f := range demoFiles {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("demo: start afresh: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by tidings demo; each run deletes and remakes this folder's demo files\n"), 0o644); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return dir, nil
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".probe-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func (a *App) runDemo(ctx context.Context, dirFlag string, dirSet, httpSet, once, verbose bool) error {
	start := time.Now()
	dir, err := prepareDemoDir(dirFlag, dirSet)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dir, "tidings.db")
	w := a.Stdout

	// Set-up through the same commands an admin types, in-process, with
	// an empty environment so nothing of the user's configuration leaks in.
	step := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		sub := NewApp(strings.NewReader(""), &out, &errb, func(string) string { return "" })
		sub.Now = a.Now
		if code := sub.Run(ctx, append([]string{"--db", dbPath}, args...)); code != 0 {
			return "", fmt.Errorf("demo: tidings %s: %s", strings.Join(args, " "), strings.TrimPrefix(strings.TrimSpace(errb.String()), "tidings: "))
		}
		return out.String(), nil
	}
	if _, err := step("list", "add", "keji", "--name", "科技情报参考", "--from", "科技情报参考 <keji@example.org>",
		"--lang", "zh", "--tz", "Asia/Shanghai", "--address", "示例地址：呼和浩特市科学技术局综合保障中心"); err != nil {
		return err
	}
	for _, t := range demoTopics {
		if _, err := step("topic", "add", t.slug, "--name", t.name, "--keywords", t.keywords); err != nil {
			return err
		}
	}
	var csv strings.Builder
	csv.WriteString("email,name,topics,status\n")
	for _, p := range demoPeople {
		fmt.Fprintf(&csv, "%s,%s,%s,%s\n", p.email, p.name, p.topics, p.status)
	}
	csvPath := filepath.Join(dir, "subscribers.csv")
	mdPath := filepath.Join(dir, "issue.md")
	if err := os.WriteFile(csvPath, []byte(csv.String()), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(mdPath, demoIssue, 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if _, err := step("sub", "import", csvPath); err != nil {
		return err
	}
	out, err := step("issue", "import", mdPath)
	if err != nil {
		return err
	}
	issueID := strings.TrimSpace(out)

	// The daemon's own address is the base URL of every link in the mail.
	addr := "127.0.0.1:0"
	if httpSet {
		addr = a.cfg.HTTPAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	sink, err := smtpsink.Start(smtpsink.Options{Addr: "127.0.0.1:0", Domain: "demo.localhost"})
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo: %w", err)
	}
	defer sink.Close()
	base := "http://" + ln.Addr().String()
	a.cfg.DBPath = dbPath
	a.cfg.SMTPURLs = []string{"smtp://" + sink.Addr + "?tls=none"}
	a.cfg.BaseURL = base
	a.cfg.DKIMKey, a.cfg.DKIMSelector, a.cfg.Rate = "", "", 0

	const lead = 3 * time.Second
	if _, err := step("schedule", "add", issueID, "--at", "+"+lead.String()); err != nil {
		ln.Close()
		return err
	}
	d, err := a.DB(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	id, err := strconv.ParseInt(issueID, 10, 64)
	if err != nil {
		ln.Close()
		return fmt.Errorf("demo: issue import printed %q, not an issue id", issueID)
	}
	issue, err := issues.NewStore(d).Get(ctx, id)
	if err != nil {
		ln.Close()
		return err
	}

	// The daemon, the engine and the web server all log through
	// a.sendLogger (send.go), which takes no level: give them text on a
	// writer that drops the lines under the demo's level, so a newcomer
	// sees only what needs attention (--verbose shows the daemon at work).
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	stderr := a.Stderr
	a.Stderr = &levelWriter{w: stderr, min: level}
	a.cfg.LogFormat = "text"
	defer func() { a.Stderr = stderr }() // every path below waits for the daemon first
	var sentOnce sync.Once
	sent := make(chan struct{})
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- a.runDaemon(dctx, daemonOptions{
			listener: ln,
			routes:   outboxPages{messages: sink.Messages}.routes,
			afterSend: func(got int64, status string, _ error) {
				if got == id && status == string(tidings.IssueSent) {
					sentOnce.Do(func() { close(sent) })
				}
			},
		})
	}()

	counts := map[string]int{}
	for _, p := range demoPeople {
		counts[orDefault(p.status, "confirmed")]++
	}
	fmt.Fprintf(w, "tidings demo — a complete local run; no mail leaves this machine.\n\n")
	fmt.Fprintf(w, "  folder    %s (database %s; each run starts afresh)\n", dir, dbPath)
	fmt.Fprintf(w, "  list      keji 科技情报参考 (zh, Asia/Shanghai), %d topics\n", len(demoTopics))
	fmt.Fprintf(w, "  readers   %d: %d confirmed, %d pending, %d unsubscribed (from %s)\n",
		len(demoPeople), counts["confirmed"], counts["pending"], counts["unsubscribed"], csvPath)
	fmt.Fprintf(w, "  issue     #%d %s, %d articles:\n", issue.Number, issue.Title, len(issue.Articles))
	for _, art := range issue.Articles {
		fmt.Fprintf(w, "              %d. %s  [%s]\n", art.Position, art.Title, topicNames(art.Topics))
	}
	fmt.Fprintf(w, "  schedule  issue id %s (#%d) in %s: tidings schedule add %s --at +%s\n", issueID, issue.Number, lead, issueID, lead)
	fmt.Fprintf(w, "  daemon    %s, sending through a capturing SMTP server on %s\n\n", base, sink.Addr)
	fmt.Fprintf(w, "Waiting for the scheduled send…\n")

	select {
	case <-sent:
	case err := <-done:
		if err == nil {
			return errors.New("demo: stopped before the send was done")
		}
		return err
	case <-time.After(2 * time.Minute):
		stop()
		<-done
		return errors.New("demo: the send did not finish within 2 minutes")
	}
	msgs := sink.Messages()
	a.printDemoResult(issue, msgs, time.Since(start), base)
	if once {
		stop()
		if err := <-done; err != nil {
			return err
		}
		fmt.Fprintf(w, "\n--once: done.\n")
		return nil
	}
	fmt.Fprintf(w, "\nServing until Ctrl-C.\n")
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintf(w, "\nStopped. The demo's files stay in %s until the next run.\n", filepath.Clean(dir)+string(filepath.Separator))
	return nil
}

// levelWriter passes on the slog text records at or above min and drops
// the others. slog handlers write one whole record per Write call; a line
// with no readable level is passed on.
type levelWriter struct {
	mu  sync.Mutex
	w   io.Writer
	min slog.Level
}

func (l *levelWriter) Write(p []byte) (int, error) {
	if _, rest, ok := bytes.Cut(p, []byte("level=")); ok {
		tok, _, _ := bytes.Cut(rest, []byte(" "))
		var lv slog.Level
		if lv.UnmarshalText(tok) == nil && lv < l.min {
			return len(p), nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func topicNames(slugs []string) string {
	if len(slugs) == 0 {
		return "every reader"
	}
	var names []string
	for _, s := range slugs {
		name := s
		for _, t := range demoTopics {
			if t.slug == s {
				name = t.name
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ", ")
}

func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// printDemoResult says who got which articles, read from the captured
// mail itself (an article counts when its title is in the text part), and
// who got nothing and why.
func (a *App) printDemoResult(issue *tidings.Issue, msgs []smtpsink.Message, took time.Duration, base string) {
	w := a.Stdout
	got := map[string][]int{}
	for _, m := range msgs {
		if len(m.To) == 0 {
			continue
		}
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
		if err != nil {
			continue
		}
		text := squash(env.Text)
		var arts []int
		for _, art := range issue.Articles {
			if strings.Contains(text, squash(art.Title)) {
				arts = append(arts, art.Position)
			}
		}
		got[strings.ToLower(m.To[0])] = arts
	}
	fmt.Fprintf(w, "\nSent %d messages (%s after start). Who got which articles (numbers as listed above):\n\n", len(msgs), took.Round(100*time.Millisecond))
	t := newTable(w, "  READER", "NAME", "TOPICS", "ARTICLES")
	var nothing []string
	for _, p := range demoPeople {
		arts, ok := got[p.email]
		switch {
		case p.status != "":
			nothing = append(nothing, fmt.Sprintf("%s (%s)", p.email, p.status))
			continue
		case !ok:
			why := "chose no topic"
			if p.topics != "none" {
				why = "no article of " + topicNames(strings.Split(p.topics, ";")) + " in this issue"
			}
			nothing = append(nothing, fmt.Sprintf("%s (%s)", p.email, why))
			continue
		}
		var nums []string
		for _, n := range arts {
			nums = append(nums, fmt.Sprint(n))
		}
		topics := "all"
		if p.topics != "all" {
			topics = topicNames(strings.Split(p.topics, ";"))
		}
		t.row("  "+p.email, p.name, topics, strings.Join(nums, " "))
	}
	t.flush()
	if len(nothing) > 0 {
		fmt.Fprintf(w, "\nNothing sent to:\n")
		for _, n := range nothing {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nRead the captured mails in a browser:\n  %s/outbox\n", base)
	fmt.Fprintf(w, "Reader pages:\n  %s/keji/subscribe\n  %s/keji/archive\n  %s/keji/archive/%d\n  %s/keji/feed.xml\n", base, base, base, issue.Number, base)
	fmt.Fprintf(w, "Daemon: %s/healthz  %s/metrics\n", base, base)
}
