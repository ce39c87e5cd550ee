package render

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

// benchRecipients are n subscribers spread over 20 topic combinations
// (single topics, pairs, triples, all) of the sample list.
func benchRecipients(n int) []tidings.Recipient {
	slugs := []string{"eldercare", "biomed", "transfer", "unicorn", "platform", "finance"}
	var combos [][]string
	for i := range slugs {
		combos = append(combos, []string{slugs[i]})
	}
	for i := range slugs {
		for j := i + 1; j < len(slugs) && len(combos) < 17; j++ {
			combos = append(combos, []string{slugs[i], slugs[j]})
		}
	}
	combos = append(combos, []string{"eldercare", "transfer", "platform"}, []string{"biomed", "unicorn", "finance"})
	rcs := make([]tidings.Recipient, n)
	for i := range rcs {
		rcs[i] = tidings.Recipient{SubscriberID: int64(i + 1), Email: fmt.Sprintf("reader%06d@example.cn", i+1)}
		if c := i % 20; c == 19 {
			rcs[i].AllTopics = true
		} else {
			rcs[i].Topics = combos[c]
		}
	}
	return rcs
}

// BenchmarkWriteMessage builds the sample issue's messages for 100 000
// subscribers over 20 topic combinations; one op is one message.
func BenchmarkWriteMessage(b *testing.B) {
	e := prepare(b, zhList(), zhTopics(), sampleIssue(b))
	rcs := benchRecipients(100_000)
	keys := map[string]bool{}
	for _, rc := range rcs[:20] {
		k, _ := e.Combination(rc)
		keys[k] = true
	}
	if len(keys) != 20 {
		b.Fatalf("%d combinations", len(keys))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var bytes int
	for i := 0; i < b.N; i++ {
		info, err := e.WriteMessage(io.Discard, rcs[i%len(rcs)], MessageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		bytes += info.Size
	}
	el := time.Since(start)
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/msg")
	b.ReportMetric(float64(len(e.bodies)), "bodies")
}

// BenchmarkWriteMessageParallel is the same from as many goroutines as
// GOMAXPROCS, as the sender's connections call it.
func BenchmarkWriteMessageParallel(b *testing.B) {
	e := prepare(b, zhList(), zhTopics(), sampleIssue(b))
	rcs := benchRecipients(100_000)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := e.WriteMessage(io.Discard, rcs[i%len(rcs)], MessageOptions{}); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
