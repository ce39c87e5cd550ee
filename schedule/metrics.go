package schedule

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/db"
)

// Metrics are the daemon's Prometheus metrics, on a registry of their own
// (no global state, so tests and two daemons in one process stay apart).
//
// Message counts, queue depth and the last successful send time are read
// from the delivery log at scrape time rather than counted in memory: they
// then include sends made by `tidings send` from the CLI or by another
// process, and survive restarts. Send duration, leadership and missed
// runs are what this process itself observes.
type Metrics struct {
	Registry *prometheus.Registry

	duration *prometheus.HistogramVec
	leader   prometheus.Gauge
	misses   prometheus.Counter
}

// NewMetrics makes the metrics on a fresh registry, with the delivery-log
// collector reading d. The Go and process collectors are included.
func NewMetrics(d *db.DB) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidings_send_duration_seconds",
			Help:    "Wall time of one send of an issue by this daemon (start or resume until done, paused or stopped).",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 9), // 0.1 s … ~1.8 h
		}, []string{"list", "outcome"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_sender_leader",
			Help: "1 when this process holds the sender lease, 0 on standby.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_schedule_missed_total",
			Help: "Scheduled runs skipped because they were more than the grace period late.",
		}),
	}
	m.Registry.MustRegister(m.duration, m.leader, m.misses, &logCollector{d: d},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeSend(list string, d time.Duration, done bool) {
	if m == nil {
		return
	}
	outcome := "done"
	if !done {
		outcome = "unfinished"
	}
	m.duration.WithLabelValues(list, outcome).Observe(d.Seconds())
}

func (m *Metrics) setLeader(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

func (m *Metrics) missed() {
	if m != nil {
		m.misses.Inc()
	}
}

var (
	descSent = prometheus.NewDesc("tidings_messages_sent_total",
		"Messages accepted by the SMTP relay, by list (from the delivery log).", []string{"list"}, nil)
	descFailed = prometheus.NewDesc("tidings_messages_failed_total",
		"Messages that failed for good, by list (from the delivery log).", []string{"list"}, nil)
	descQueue = prometheus.NewDesc("tidings_queue_depth",
		"Deliveries waiting to be sent (pending or in flight), by list.", []string{"list"}, nil)
	descLast = prometheus.NewDesc("tidings_last_successful_send_timestamp_seconds",
		"Unix time of the last message the relay accepted, by list; absent before the first.", []string{"list"}, nil)
	descUp = prometheus.NewDesc("tidings_database_up",
		"1 when the delivery log could be read at this scrape.", nil, nil)
)

// logCollector reads the delivery log at each scrape.
type logCollector struct{ d *db.DB }

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSent
	ch <- descFailed
	ch <- descQueue
	ch <- descLast
	ch <- descUp
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type agg struct{ sent, failed, queue, last float64 }
	byList := map[string]*agg{}
	up := 1.0
	err := func() error {
		rows, err := c.d.R.QueryContext(ctx, `SELECT slug FROM lists`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var slug string
			if err := rows.Scan(&slug); err != nil {
				rows.Close()
				return err
			}
			byList[slug] = &agg{}
		}
		rows.Close()
		rows, err = c.d.R.QueryContext(ctx, `SELECT l.slug, d.state, count(*), coalesce(max(d.sent_at), 0)
			FROM deliveries d JOIN issues i ON i.id = d.issue_id JOIN lists l ON l.id = i.list_id
			GROUP BY l.slug, d.state`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var slug, state string
			var n, last int64
			if err := rows.Scan(&slug, &state, &n, &last); err != nil {
				return err
			}
			a := byList[slug]
			if a == nil {
				a = &agg{}
				byList[slug] = a
			}
			switch state {
			case "sent", "bounced", "complained": // accepted by the relay, whatever happened later
				a.sent += float64(n)
				a.last = max(a.last, float64(last))
			case "failed":
				a.failed += float64(n)
			case "pending", "sending":
				a.queue += float64(n)
			}
		}
		return rows.Err()
	}()
	if err != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
	for slug, a := range byList {
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, a.sent, slug)
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, a.failed, slug)
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, a.queue, slug)
		if a.last > 0 {
			ch <- prometheus.MustNewConstMetric(descLast, prometheus.GaugeValue, a.last, slug)
		}
	}
}
