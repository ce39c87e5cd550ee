package console_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

var benchReaders = flag.Int("console-readers", 100_000, "confirmed readers of the list in the console benchmarks")

// BenchmarkPages times the console's heaviest pages over HTTP, signed in as
// the editor, with the list holding -console-readers readers:
//
//	go test ./console -run '^$' -bench Pages -console-readers 1000000
func BenchmarkPages(b *testing.B) {
	e, benchID := seedBench(b)
	br := e.browser()
	br.signIn(editorEmail)
	id := fmt.Sprint(benchID)
	for _, p := range []string{
		"/admin/",
		"/admin/issues/" + id,
		"/admin/issues/" + id + "/audience.json",
		"/admin/issues/" + id + "/send",
		"/admin/issues/" + id + "/preview?email=r000007@readers.example",
		"/admin/lists/keji/subscribers",
		"/admin/lists/keji/subscribers?topic=biomed&status=confirmed",
		"/admin/lists/keji/subscribers?q=r0999",
		"/admin/lists/keji/topics",
	} {
		b.Run(strings.TrimPrefix(p, "/admin/"), func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("GET", e.ts.URL+p, nil)
				res, err := br.c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("%s: %d", p, res.StatusCode)
				}
			}
		})
	}
}

// seedBench is an env with -console-readers readers on keji (topics spread
// over the three topics and "all") and the sample issue.
func seedBench(b *testing.B) (*env, int64) {
	e := newEnv(b, envOpts{})
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintln(pw, "email,name,topics")
		topics := []string{"eldercare", "biomed", "transfer", "eldercare;biomed", "all"}
		for i := 0; i < *benchReaders; i++ {
			fmt.Fprintf(pw, "r%06d@readers.example,,%s\n", i, topics[i%len(topics)])
		}
		pw.Close()
	}()
	if _, err := e.svc.Import(bg, ops.CLI(), "keji", pr, ops.ImportRequest{DefaultTopics: subscribers.AllTopics}, nil); err != nil {
		b.Fatal(err)
	}
	is, err := e.svc.ImportIssue(bg, ops.CLI(), "keji", "keji.md", sample(b), false)
	if err != nil {
		b.Fatal(err)
	}
	return e, is.ID
}

// BenchmarkOpsBehindPages times the ops calls the pages make, to tell the
// console's own cost from the operations' at -console-readers readers.
func BenchmarkOpsBehindPages(b *testing.B) {
	e, benchID := seedBench(b)
	a, err := e.svc.SignIn(bg, editorEmail, password, "127.0.0.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	ed := a.Actor
	for _, c := range []struct {
		name string
		call func() error
	}{
		{"Lists", func() error { _, err := e.svc.Lists(bg, ed); return err }},
		{"Schedules", func() error { _, err := e.svc.Schedules(bg, ed, "keji"); return err }},
		{"Home", func() error { _, err := e.svc.Home(bg, ed); return err }},
		{"Issue", func() error { _, err := e.svc.Issue(bg, ed, benchID); return err }},
		{"Audience", func() error { _, err := e.svc.Audience(bg, ed, benchID); return err }},
		{"Status", func() error { _, err := e.svc.Status(bg, ed, benchID, 5); return err }},
		{"Preview", func() error {
			_, err := e.svc.Preview(bg, ed, benchID, ops.PreviewFor{Email: "r000007@readers.example"})
			return err
		}},
		{"Topics", func() error { _, err := e.svc.Topics(bg, ed, "keji"); return err }},
		{"Subscribers", func() error {
			_, err := e.svc.Subscribers(bg, ed, "keji", ops.SubscriberQuery{Limit: 50})
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
