// Package demo is `tidings demo`: a complete local run on built-in data,
// needing nothing configured and no network. It makes a Chinese list for
// the bundled sample bulletin, six topics, 36 readers with different
// choices and a demo editor, through the same operations (package ops)
// the CLI, the API and the console use; schedules the issue a few seconds
// ahead; and lets the real daemon send it to a capturing SMTP server. It
// then prints who got which articles, read from the captured mail, and
// where to look: the console, the outbox, the reader pages.
//
// The program that runs it (cmd/tidings) supplies the two things only it
// has: opening the operations layer with the daemon's settings, and the
// daemon itself.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
)

// EditorEmail is the demo editor's sign-in address.
const EditorEmail = "editor@example.org"

// Config is what a demo run needs from the program that runs it.
type Config struct {
	Dir      string // folder for the demo's files
	DirSet   bool   // Dir was chosen explicitly: never fall back to a temporary folder
	HTTPAddr string // where the daemon listens; "127.0.0.1:0" for any free port
	Once     bool   // return once the send is done
	Verbose  bool   // show the daemon's log, not only its warnings
	Stdout   io.Writer
	Stderr   io.Writer
	// Setup opens (creating) the database with the daemon's settings and
	// returns the operations layer on it. Log is where the daemon's log
	// lines should go (the demo filters them by level).
	Setup func(ctx context.Context, s Settings) (*ops.Service, error)
	// Daemon runs the real daemon until ctx ends; nil after a clean stop.
	Daemon func(ctx context.Context, d Daemon) error
}

// Settings are the daemon's settings for the demo.
type Settings struct {
	DBPath  string
	SMTPURL string // the capturing SMTP server
	BaseURL string // the daemon's own address: every link in the mail
	Log     io.Writer
}

// Daemon is how the daemon runs for the demo.
type Daemon struct {
	Listener  net.Listener               // reader pages, console and API on one listener
	Routes    func(mux *http.ServeMux)   // the outbox pages
	AfterSend func(int64, string, error) // told of every send the scheduler finishes
}

// lead is how far ahead the sample issue is scheduled.
const lead = 3 * time.Second

// Run is one demo run.
func Run(ctx context.Context, cfg Config) error {
	start := time.Now()
	dir, err := PrepareDir(cfg.Dir, cfg.DirSet)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dir, "tidings.db")
	w := cfg.Stdout

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()
	sink, err := smtpsink.Start(smtpsink.Options{Addr: "127.0.0.1:0", Domain: "demo.localhost"})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer sink.Close()
	base := "http://" + ln.Addr().String()
	level := slog.LevelWarn
	if cfg.Verbose {
		level = slog.LevelInfo
	}
	svc, err := cfg.Setup(ctx, Settings{DBPath: dbPath, SMTPURL: "smtp://" + sink.Addr + "?tls=none", BaseURL: base,
		Log: &LevelWriter{W: cfg.Stderr, Min: level}})
	if err != nil {
		return err
	}
	d, err := populate(ctx, svc, dir)
	if err != nil {
		return err
	}

	var sentOnce sync.Once
	sent := make(chan struct{})
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- cfg.Daemon(dctx, Daemon{
			Listener: ln,
			Routes:   Outbox(sink.Messages),
			AfterSend: func(got int64, status string, _ error) {
				if got == d.issue.ID && status == string(tidings.IssueSent) {
					sentOnce.Do(func() { close(sent) })
				}
			},
		})
	}()

	counts := map[string]int{}
	for _, p := range people {
		counts[orDefault(p.status, "confirmed")]++
	}
	fmt.Fprintf(w, "tidings demo — a complete local run; no mail leaves this machine.\n\n")
	fmt.Fprintf(w, "  folder    %s (database %s; each run starts afresh)\n", dir, dbPath)
	fmt.Fprintf(w, "  list      keji 科技情报参考 (zh, Asia/Shanghai), %d topics\n", len(topics))
	fmt.Fprintf(w, "  readers   %d: %d confirmed, %d pending, %d unsubscribed (from %s)\n",
		len(people), counts["confirmed"], counts["pending"], counts["unsubscribed"], d.csvPath)
	fmt.Fprintf(w, "  issue     #%d %s, %d articles:\n", d.issue.Number, d.issue.Title, len(d.issue.Articles))
	for _, art := range d.issue.Articles {
		fmt.Fprintf(w, "              %d. %s  [%s]\n", art.Position, art.Title, topicNames(art.Topics))
	}
	fmt.Fprintf(w, "  schedule  issue id %d (#%d) in %s: tidings schedule add %d --at +%s\n", d.issue.ID, d.issue.Number, lead, d.issue.ID, lead)
	fmt.Fprintf(w, "  daemon    %s, sending through a capturing SMTP server on %s\n", base, sink.Addr)
	fmt.Fprintf(w, "  console   %s/admin/ — sign in as %s with password %s (an editor of keji)\n\n", base, EditorEmail, d.password)
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
	printResult(w, d.issue, sink.Messages(), time.Since(start), base)
	if cfg.Once {
		stop()
		if err := <-done; err != nil {
			return err
		}
		fmt.Fprintf(w, "\n--once: done.\n")
		return nil
	}
	fmt.Fprintf(w, "\nServing until Ctrl-C. Open the console: %s/admin/\n", base)
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintf(w, "\nStopped. The demo's files stay in %s until the next run.\n", filepath.Clean(dir)+string(filepath.Separator))
	return nil
}

// made is what populate made.
type made struct {
	issue    *tidings.Issue
	csvPath  string
	password string
}

// populate makes the list, topics, readers, issue, schedule and demo
// editor through the operations layer, as an admin at the command line
// would.
func populate(ctx context.Context, svc *ops.Service, dir string) (*made, error) {
	a := ops.CLI()
	a.Name = "tidings demo"
	l := &tidings.List{Slug: "keji", Name: "科技情报参考", From: "科技情报参考 <keji@example.org>", Lang: tidings.LangZH,
		TZ: "Asia/Shanghai", Address: "示例地址：呼和浩特市科学技术局综合保障中心"}
	if err := svc.CreateList(ctx, a, l); err != nil {
		return nil, fmt.Errorf("demo: list: %w", err)
	}
	for _, t := range topics {
		if err := svc.AddTopic(ctx, a, l.Slug, &tidings.Topic{Slug: t.slug, Name: t.name, Keywords: strings.Split(t.keywords, ",")}); err != nil {
			return nil, fmt.Errorf("demo: topic %s: %w", t.slug, err)
		}
	}
	var csv strings.Builder
	csv.WriteString("email,name,topics,status\n")
	for _, p := range people {
		fmt.Fprintf(&csv, "%s,%s,%s,%s\n", p.email, p.name, p.topics, p.status)
	}
	m := &made{csvPath: filepath.Join(dir, "subscribers.csv")}
	if err := os.WriteFile(m.csvPath, []byte(csv.String()), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := importReaders(ctx, svc, a, l.Slug, []byte(csv.String())); err != nil {
		return nil, err
	}
	mdPath := filepath.Join(dir, "issue.md")
	if err := os.WriteFile(mdPath, sampleIssue, 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	is, err := svc.ImportIssue(ctx, a, l.Slug, "issue.md", sampleIssue, false)
	if err != nil {
		return nil, fmt.Errorf("demo: import the sample issue: %w", err)
	}
	if m.issue, err = fullIssue(ctx, svc, a, is.ID); err != nil {
		return nil, err
	}
	if _, err := svc.Schedule(ctx, a, is.ID, "+"+lead.String(), ""); err != nil {
		return nil, fmt.Errorf("demo: schedule: %w", err)
	}
	m.password = rand.Text()[:12]
	if _, _, err := svc.AddUser(ctx, a, ops.NewUser{Email: EditorEmail, Role: tidings.RoleEditor, Lists: []string{l.Slug}, Password: m.password}); err != nil {
		return nil, fmt.Errorf("demo: editor account: %w", err)
	}
	return m, nil
}

// importReaders runs the CSV import job the console starts, and waits.
func importReaders(ctx context.Context, svc *ops.Service, a tidings.Actor, list string, data []byte) error {
	j, err := svc.StartImport(ctx, a, list, data, ops.ImportRequest{DefaultTopics: subscribers.AllTopics})
	if err != nil {
		return fmt.Errorf("demo: import readers: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for j.State != "done" {
		if j.State == "failed" {
			return fmt.Errorf("demo: import readers: %s", j.Error)
		}
		if time.Now().After(deadline) {
			return errors.New("demo: import readers: not done after 30 s")
		}
		time.Sleep(20 * time.Millisecond)
		if j, err = svc.Job(ctx, a, j.ID); err != nil {
			return fmt.Errorf("demo: import readers: %w", err)
		}
	}
	if len(j.Errors) > 0 {
		return fmt.Errorf("demo: import readers: line %d: %s", j.Errors[0].Line, j.Errors[0].Problem)
	}
	return nil
}

func fullIssue(ctx context.Context, svc *ops.Service, a tidings.Actor, id int64) (*tidings.Issue, error) {
	d, err := svc.Issue(ctx, a, id)
	if err != nil {
		return nil, fmt.Errorf("demo: issue %d: %w", id, err)
	}
	return d.Issue, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
