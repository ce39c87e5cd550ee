package track

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are tracking's Prometheus metrics; register Collectors on the
// daemon's registry. A nil *Metrics records nothing.
type Metrics struct {
	clicks   *prometheus.CounterVec
	opens    *prometheus.CounterVec
	redirect prometheus.Histogram
	dropped  prometheus.Counter
}

// NewMetrics makes the metrics (unregistered).
func NewMetrics() *Metrics {
	return &Metrics{
		clicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_clicks_total",
			Help: "Tracked link clicks counted by this process, by list and by who made them (human or machine).",
		}, []string{"list", "kind"}),
		opens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_opens_total",
			Help: "Tracked opens (image fetches) counted by this process, by list and kind (human or machine). Estimates.",
		}, []string{"list", "kind"}),
		redirect: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_redirect_duration_seconds",
			Help:    "Time to answer a tracked link (verify, look up, 302), without writing the event.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_track_events_dropped_total",
			Help: "Tracking events dropped because the in-memory buffer was full.",
		}),
	}
}

// Collectors are the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.clicks, m.opens, m.redirect, m.dropped}
}

func (m *Metrics) observeRedirect(d time.Duration) {
	if m != nil {
		m.redirect.Observe(d.Seconds())
	}
}

func (m *Metrics) drop() {
	if m != nil {
		m.dropped.Inc()
	}
}

func (m *Metrics) count(list, kind string, machine bool, n int) {
	if m == nil {
		return
	}
	who := "human"
	if machine {
		who = "machine"
	}
	v := m.clicks
	if kind == "open" {
		v = m.opens
	}
	v.WithLabelValues(list, who).Add(float64(n))
}
