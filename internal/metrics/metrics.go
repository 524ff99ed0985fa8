// Package metrics holds Carillon's Prometheus metrics. There is no global
// registry: the server makes one Registry and hands it to each package that
// has something to measure (the API, the store, and later the media plane),
// which registers its own collectors on it with prometheus.Registerer.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Carillon metric.
const Namespace = "carillon"

// NewRegistry returns a registry with the Go runtime and process collectors
// already registered.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves the registry at /metrics and nothing else: the metrics
// listener is unauthenticated, so it must expose no other endpoint.
func Handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	return mux
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("serving metrics", "err", v) }

// API measures the API requests.
type API struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewAPI registers the request metrics on reg.
func NewAPI(reg prometheus.Registerer) *API {
	a := &API{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "api", Name: "requests_total",
			Help: "API requests answered, by operation (unknown before authentication and routing) and HTTP status.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "api", Name: "request_duration_seconds",
			Help:    "Time from receiving a request to answering it, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
	}
	reg.MustRegister(a.requests, a.duration)
	return a
}

// ObserveRequest implements api.RequestObserver. operation must come from a
// fixed set (the model's operations, admin:*, unknown): it is a label.
func (a *API) ObserveRequest(operation string, status int, d time.Duration) {
	a.requests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	a.duration.WithLabelValues(operation).Observe(d.Seconds())
}

// Store measures the storage engine's commits.
type Store struct {
	commit prometheus.Histogram
	group  prometheus.Histogram
}

// NewStore registers the store metrics on reg.
func NewStore(reg prometheus.Registerer) *Store {
	s := &Store{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "store", Name: "commit_duration_seconds",
			Help:    "Time a write transaction took to commit (the fsync of the embedded store, the COMMIT round trip of PostgreSQL).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		group: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "store", Name: "commit_group_size",
			Help:    "Write operations committed together by one commit (group commit of the embedded store; always 1 on PostgreSQL).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
	}
	reg.MustRegister(s.commit, s.group)
	return s
}

// ObserveCommit records one commit of groupSize writes that took d.
func (s *Store) ObserveCommit(groupSize int, d time.Duration) {
	s.commit.Observe(d.Seconds())
	s.group.Observe(float64(groupSize))
}

// LiveCounts reports the live meetings and their attendees.
type LiveCounts func(ctx context.Context) (meetings, attendees int, err error)

// RegisterLive registers the gauges of live meetings and attendees, read
// from count at each scrape (bounded by timeout). A failed count is logged
// and the gauges are left out of that scrape.
func RegisterLive(reg prometheus.Registerer, count LiveCounts, timeout time.Duration, log *slog.Logger) {
	reg.MustRegister(&liveCollector{count: count, timeout: timeout, log: log})
}

var (
	liveMeetingsDesc = prometheus.NewDesc(Namespace+"_meetings_live",
		"Meetings that have not ended (in the store, across every node sharing it).", nil, nil)
	liveAttendeesDesc = prometheus.NewDesc(Namespace+"_attendees_live",
		"Attendees of the meetings that have not ended.", nil, nil)
)

type liveCollector struct {
	count   LiveCounts
	timeout time.Duration
	log     *slog.Logger
}

func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveMeetingsDesc
	ch <- liveAttendeesDesc
}

func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	m, a, err := c.count(ctx)
	if err != nil {
		c.log.Warn("counting live meetings for metrics", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(liveMeetingsDesc, prometheus.GaugeValue, float64(m))
	ch <- prometheus.MustNewConstMetric(liveAttendeesDesc, prometheus.GaugeValue, float64(a))
}
