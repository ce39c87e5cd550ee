package console_test

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

var benchReaders = flag.Int("console-readers", 100_000, "confirmed readers of the list in the console benchmarks")

// benchEnv is one env per process with -console-readers readers on keji
// (topics spread over the three topics and "all"), and the sample issue.
var (
	benchOnce sync.Once
	benchE    *env
	benchID   int64
)

// BenchmarkPages times the console's heaviest pages over HTTP, signed in as
// the editor, with the list holding -console-readers readers:
//
//	go test ./console -run '^$' -bench Pages -console-readers 1000000
func BenchmarkPages(b *testing.B) {
	benchOnce.Do(func() { benchE, benchID = seedBench(b) })
	e := benchE
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
