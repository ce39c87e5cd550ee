package api

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// benchReaders is how many readers the benchmarks put on alpha: enough
// that a per-row query or an unindexed scan shows.
const benchReaders = 100_000

// benchEnv is the fixture with benchReaders more confirmed readers on
// alpha, over a third of them per topic.
func benchEnv(b *testing.B) *env {
	b.Helper()
	e := newEnv(b)
	var csv bytes.Buffer
	csv.WriteString("email,name,topics\n")
	topics := []string{"energy", "biomed", "energy;biomed"}
	for i := range benchReaders {
		fmt.Fprintf(&csv, "reader%06d@example.org,读者%d,%s\n", i, i, topics[i%3])
	}
	st, err := e.ops.Import(context.Background(), ops.CLI(), "alpha", &csv, ops.ImportRequest{DefaultTopics: subscribers.AllTopics}, nil)
	if err != nil || st.Added != benchReaders {
		b.Fatalf("import: %+v %v", st, err)
	}
	return e
}

// BenchmarkAPIAtScale measures whole HTTP round trips (auth, the op, JSON,
// and the OpenAPI check of each answer) with 100 000 readers on the list.
func BenchmarkAPIAtScale(b *testing.B) {
	e := benchEnv(b)
	var page struct{ Next *string }
	e.call(asEditor, "GET", "/lists/alpha/subscribers?limit=100", nil).json(b, &page)
	for _, c := range []struct{ name, path string }{
		{"subscribers first page", "/lists/alpha/subscribers?limit=100"},
		{"subscribers next page", "/lists/alpha/subscribers?limit=100&cursor=" + *page.Next},
		{"subscribers by topic and q", "/lists/alpha/subscribers?limit=100&topic=biomed&q=reader09"},
		{"issue with recipients", fill("/issues/{issue}")},
		{"audience", fill("/issues/{issue}/audience")},
		{"home", "/home"},
	} {
		b.Run(c.name, func(b *testing.B) {
			e.t = b
			for b.Loop() {
				if r := e.call(asEditor, "GET", c.path, nil); r.status != 200 {
					b.Fatalf("%s: %d %s", c.path, r.status, r.body)
				}
			}
		})
	}
}

// BenchmarkAudienceOp is the audience operation alone, to tell the API's
// share of a round trip from the operation's.
func BenchmarkAudienceOp(b *testing.B) {
	e := benchEnv(b)
	for b.Loop() {
		if _, err := e.ops.Audience(context.Background(), ops.CLI(), fixture.ids["alpha7"]); err != nil {
			b.Fatal(err)
		}
	}
}
