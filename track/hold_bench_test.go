package track

import (
	"testing"
	"time"
)

// BenchmarkHoldMessageEvents is the writer's cost of holding a message's
// events: each iteration holds maxGroup clicks of one message (a
// link-checker walking every link) and settles them. Classification runs
// once per event, at settling, not on every arrival.
func BenchmarkHoldMessageEvents(b *testing.B) {
	f := newFixture(b, "aggregate", "off")
	at := sentAt.Add(time.Hour)
	evs := make([]Event, maxGroup)
	var nonce uint32
	for b.Loop() {
		nonce++
		for i := range evs {
			evs[i] = Event{Ref: f.ref(Click, 1, 1+i%3, nonce, 0), At: at.Add(time.Duration(i) * time.Second), Method: "GET", UA: "Mozilla/5.0"}
			f.tr.add(&evs[i])
		}
		if got := len(f.tr.take(at, true)); got != maxGroup {
			b.Fatalf("settled %d events, want %d", got, maxGroup)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*maxGroup), "ns/event")
}
