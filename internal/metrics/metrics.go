// Package metrics owns Vantage's Prometheus collectors, on a registry of
// their own. No label ever carries a target, an address or a scan ID: the
// label values are small fixed sets (outcomes, states, reasons, route
// patterns, status codes).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every collector the service exports.
type Metrics struct {
	reg *prometheus.Registry

	scans        *prometheus.CounterVec
	scanDuration prometheus.Histogram
	ports        *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
}

// Refusal reasons, the only values of the refusals' "reason" label.
const (
	RefusedInvalid      = "invalid"
	RefusedForbidden    = "forbidden"
	RefusedUnresolvable = "unresolvable"
	RefusedRateLimited  = "rate_limited"
	RefusedQueueFull    = "queue_full"
	RefusedCrossOrigin  = "cross_origin"
)

// New registers the collectors; running and queued report the job runner's
// gauges when scraped.
func New(running, queued func() float64) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_scans_total", Help: "Scans ended, by outcome (done, failed, cancelled).",
		}, []string{"outcome"}),
		scanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vantage_scan_duration_seconds", Help: "Wall time of finished scans.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600},
		}),
		ports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_ports_probed_total", Help: "Ports decided, by state.",
		}, []string{"state"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_scan_refusals_total", Help: "Scan requests refused, by reason.",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vantage_http_requests_total", Help: "HTTP requests, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vantage_http_request_duration_seconds", Help: "HTTP time to the end of the response, by route pattern (results pages stream for as long as their scan runs).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.scans, m.scanDuration, m.ports, m.refusals, m.requests, m.latency,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vantage_scans_running", Help: "Scans running now."}, running),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vantage_scan_queue_depth", Help: "Scans waiting for a slot."}, queued),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, o := range []string{"done", "failed", "cancelled"} {
		m.scans.WithLabelValues(o)
	}
	for _, s := range []string{"open", "closed", "filtered"} {
		m.ports.WithLabelValues(s)
	}
	for _, r := range []string{RefusedInvalid, RefusedForbidden, RefusedUnresolvable, RefusedRateLimited, RefusedQueueFull, RefusedCrossOrigin} {
		m.refusals.WithLabelValues(r)
	}
	return m
}

// Handler serves the registry for scraping.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ScanEnded records a scan's outcome and duration.
func (m *Metrics) ScanEnded(outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.scans.WithLabelValues(outcome).Inc()
	m.scanDuration.Observe(d.Seconds())
}

// PortDecided counts one port by state.
func (m *Metrics) PortDecided(state string) {
	if m == nil {
		return
	}
	m.ports.WithLabelValues(state).Inc()
}

// Refused counts a refused scan request; reason is one of the Refused*.
func (m *Metrics) Refused(reason string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(reason).Inc()
}

// Request counts one HTTP request under its route pattern (never the path,
// which holds scan IDs).
func (m *Metrics) Request(route string, code int, d time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
