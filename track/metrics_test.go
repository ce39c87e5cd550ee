package track

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The Prometheus names and labels are the ones the README and dashboards
// use: tidings_clicks_total{list, kind="human|machine"},
// tidings_opens_total{list, kind}, and the redirect latency histogram with
// one sample per answered tracked link (forged tokens are not observed).
func TestMetricsNamesAndLabels(t *testing.T) {
	f := newFixture(t, "aggregate", "aggregate")
	reg := prometheus.NewRegistry()
	for _, c := range f.tr.cfg.Metrics.Collectors() {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	later := sentAt.Add(time.Hour)
	f.do(t, later, "GET", f.url(f.ref(Click, 1, 1, 1, 0)), uaFirefox)
	f.do(t, later, "HEAD", f.url(f.ref(Click, 1, 2, 2, 0)), uaFirefox)
	f.do(t, later, "GET", f.url(f.ref(Click, 2, 1, 3, 0)), "python-requests/2.32")
	f.do(t, later, "GET", f.url(f.ref(Open, 0, 0, 4, 0)), uaFirefox)
	f.do(t, later, "GET", f.srv.URL+"/c/"+strings.Repeat("A", 34), uaFirefox) // forged
	f.settle(t)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := []string{}
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			got = append(got, mf.GetName()+"{"+strings.Join(labels, ",")+"} "+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	sort.Strings(got)
	want := []string{
		"tidings_clicks_total{kind=human,list=weekly} 1",
		"tidings_clicks_total{kind=machine,list=weekly} 2",
		"tidings_opens_total{kind=human,list=weekly} 1",
		"tidings_redirect_duration_seconds{} 3",
		"tidings_track_events_dropped_total{} 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("metrics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
