// Package metrics exposes the sandbox manager's Prometheus metrics: sandboxes by state and template,
// create and claim latency, control-plane and gateway requests. It owns its registry (no global
// default registry), so several managers can run in one process, as the tests do.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sandboxstack/terraform-provider-sandbox/server/gateway"
	"github.com/sandboxstack/terraform-provider-sandbox/server/sandbox"
)

// Counter reports the sandboxes a manager holds; *sandbox.Manager implements it.
type Counter interface {
	Counts() sandbox.SandboxCounts
}

// Metrics is the manager's metric set.
type Metrics struct {
	registry *prometheus.Registry
	creates  *prometheus.HistogramVec
	api      *prometheus.HistogramVec
	gateway  *prometheus.CounterVec
}

// latencyBuckets span a warm claim (milliseconds) to a slow cold start (tens of seconds).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New registers the metrics; counter feeds the sandbox gauges at scrape time.
func New(counter Counter) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		creates: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sandbox", Name: "create_duration_seconds",
			Help:    "Time from a create request to a sandbox whose envd answers, by template and source (cold start or warm pool claim).",
			Buckets: latencyBuckets,
		}, []string{"template", "source"}),
		api: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sandbox", Name: "api_request_duration_seconds",
			Help:    "Control-plane requests by route and status.",
			Buckets: latencyBuckets,
		}, []string{"route", "status"}),
		gateway: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sandbox", Name: "gateway_requests_total",
			Help: "Sandbox traffic through the gateway by sandbox port and outcome.",
		}, []string{"port", "outcome"}),
	}
	m.registry.MustRegister(m.creates, m.api, m.gateway,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&sandboxCollector{counter: counter, desc: prometheus.NewDesc("sandbox_sandboxes",
			"Sandboxes held by the manager, by template and state (running: in use; warm: pooled, not yet claimed).",
			[]string{"template", "state"}, nil)})
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// ObserveCreate implements sandbox.Observer.
func (m *Metrics) ObserveCreate(template string, fromPool bool, d time.Duration) {
	source := "cold"
	if fromPool {
		source = "pool"
	}
	m.creates.WithLabelValues(template, source).Observe(d.Seconds())
}

// ObserveAPI records one control-plane request (the api.Observer signature). route is the pattern
// the request matched (a fixed set, never the request's path) and status is the one the handler
// wrote, bounded to 100–599.
func (m *Metrics) ObserveAPI(route string, status int, elapsed time.Duration) {
	st := "other"
	if status >= 100 && status <= 599 {
		st = strconv.Itoa(status)
	}
	m.api.WithLabelValues(route, st).Observe(elapsed.Seconds())
}

// ObserveGateway records one proxied request (gateway.Config.OnRequest). Its port and sandbox come
// from whoever sent the request, authenticated or not, so neither becomes a label as is: sandbox IDs
// are not labels at all, and ports only the well-known ones (anything else is "other"). Otherwise
// anyone could mint up to 65535 series per outcome by sending requests.
func (m *Metrics) ObserveGateway(info gateway.RequestInfo) {
	m.gateway.WithLabelValues(portLabel(info.Port), outcomeLabel(info.Outcome)).Inc()
}

// knownPorts are the sandbox ports the templates serve: envd, the code interpreter, noVNC, CDP.
var knownPorts = map[int]bool{sandbox.EnvdPort: true, 49999: true, 6080: true, 9222: true}

func portLabel(port int) string {
	switch {
	case port == 0:
		return "none"
	case knownPorts[port]:
		return strconv.Itoa(port)
	}
	return "other"
}

var knownOutcomes = map[gateway.Outcome]bool{
	gateway.OutcomeProxied: true, gateway.OutcomeBadRequest: true, gateway.OutcomeForbidden: true,
	gateway.OutcomeNotFound: true, gateway.OutcomePortClosed: true, gateway.OutcomeUpstreamError: true,
	gateway.OutcomeCanceled: true,
}

func outcomeLabel(o gateway.Outcome) string {
	if knownOutcomes[o] {
		return string(o)
	}
	return "other"
}

type sandboxCollector struct {
	counter Counter
	desc    *prometheus.Desc
}

func (c *sandboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sandboxCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.counter.Counts()
	for state, byTemplate := range map[string]map[string]int{"running": counts.Running, "warm": counts.Warm} {
		for template, n := range byTemplate {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), template, state)
		}
	}
}
