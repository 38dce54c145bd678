package serve

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets are the request duration buckets in seconds: 50 µs to
// 1 s in steps of about 2, then 2.5 s and 10 s for slow proxy calls.
var latencyBuckets = []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 10}

// metrics holds the server's Prometheus collectors, registered on a
// registry the server owns (never the global one). All methods are safe
// for concurrent use.
type metrics struct {
	reg *prometheus.Registry

	requests       *prometheus.CounterVec   // endpoint, code
	duration       *prometheus.HistogramVec // endpoint
	decisions      *prometheus.CounterVec   // router, model
	routerInfo     *prometheus.GaugeVec     // router, version, kind
	loadedAt       *prometheus.GaugeVec     // router
	reloads        *prometheus.CounterVec   // router, result
	reloadFailures *prometheus.CounterVec   // router

	// endpoints caches the resolved children per mux pattern
	// (string -> *endpointMetrics), so a request costs no label hashing.
	endpoints sync.Map
}

// endpointMetrics are one endpoint's resolved children.
type endpointMetrics struct {
	label    string
	duration prometheus.Observer
	codes    sync.Map // int status -> prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routekit_requests_total",
			Help: "HTTP requests answered, by endpoint (the route pattern's path, or \"other\") and status code.",
		}, []string{"endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "routekit_request_duration_seconds",
			Help:    "Time to answer an HTTP request in seconds, by endpoint.",
			Buckets: latencyBuckets,
		}, []string{"endpoint"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routekit_decisions_total",
			Help: "Routing decisions by router name and chosen model (route shares).",
		}, []string{"router", "model"}),
		routerInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "routekit_router_info",
			Help: "1 for the version and kind of every served router.",
		}, []string{"router", "version", "kind"}),
		loadedAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "routekit_router_loaded_timestamp_seconds",
			Help: "Unix time at which the served version of a router was swapped in.",
		}, []string{"router"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routekit_reloads_total",
			Help: "Attempts to load a new router version, by router and result (ok or failed).",
		}, []string{"router", "result"}),
		reloadFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "routekit_reload_failures_total",
			Help: "Router versions refused on load (the old version keeps serving).",
		}, []string{"router"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.decisions, m.routerInfo, m.loadedAt, m.reloads, m.reloadFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// endpoint returns the children of a mux pattern ("POST /v1/route"):
// the label is the pattern's path, so it comes from the fixed set of
// registered patterns; no pattern or the catch-all "/" is "other".
func (m *metrics) endpoint(pattern string) *endpointMetrics {
	if e, ok := m.endpoints.Load(pattern); ok {
		return e.(*endpointMetrics)
	}
	label := pattern
	if i := strings.IndexByte(label, ' '); i >= 0 {
		label = strings.TrimSpace(label[i+1:])
	}
	if label == "" || label == "/" {
		label = "other"
	}
	e, _ := m.endpoints.LoadOrStore(pattern, &endpointMetrics{label: label, duration: m.duration.WithLabelValues(label)})
	return e.(*endpointMetrics)
}

// observe records one answered request.
func (m *metrics) observe(e *endpointMetrics, status int, d time.Duration) {
	e.duration.Observe(d.Seconds())
	c, ok := e.codes.Load(status)
	if !ok {
		c, _ = e.codes.LoadOrStore(status, m.requests.WithLabelValues(e.label, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

// served records that router name now serves version of kind, replacing
// the series of its previous version.
func (m *metrics) served(name, version, kind string, at time.Time) {
	m.routerInfo.DeletePartialMatch(prometheus.Labels{"router": name})
	m.routerInfo.WithLabelValues(name, version, kind).Set(1)
	m.loadedAt.WithLabelValues(name).Set(float64(at.UnixNano()) / 1e9)
}

// reload counts one load attempt of a router version.
func (m *metrics) reload(name string, err error) {
	if err != nil {
		m.reloads.WithLabelValues(name, "failed").Inc()
		m.reloadFailures.WithLabelValues(name).Inc()
		return
	}
	m.reloads.WithLabelValues(name, "ok").Inc()
}

// decisionCounters resolves the decision counter of every candidate model
// of a router, so counting a decision is a map lookup.
func (m *metrics) decisionCounters(name string, models []string) map[string]prometheus.Counter {
	out := make(map[string]prometheus.Counter, len(models))
	for _, mod := range models {
		out[mod] = m.decisions.WithLabelValues(name, mod)
	}
	return out
}

// statusWriter records the status code written through it. It unwraps
// for http.ResponseController and flushes, so streaming handlers work
// through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for handlers that assert it.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countDecision counts a routing decision of router name.
func (s *Server) countDecision(name, model string) {
	if rs := s.cur.Load(); rs != nil {
		if c, ok := rs.decisions[name][model]; ok {
			c.Inc()
			return
		}
	}
	s.metrics.decisions.WithLabelValues(name, model).Inc()
}

// streamingPaths are endpoints whose responses may stream for minutes:
// they get no write deadline here and manage their own.
var streamingPaths = map[string]bool{"/v1/chat/completions": true}

// deadlineGrace is how long past Config.RequestTimeout a response may
// take to be written before the connection's deadline cuts it.
const deadlineGrace = 5 * time.Second

// instrument counts and times every request by the mux pattern it
// matched, sets the connection's read and write deadlines of
// non-streaming requests (the http.Server has none, so streams are not
// cut), and turns a handler panic into a logged JSON 500.
func (s *Server) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rc := http.NewResponseController(w)
		if streamingPaths[r.URL.Path] {
			rc.SetWriteDeadline(time.Time{}) // clear a previous request's; errors: not a real connection
		} else {
			rc.SetReadDeadline(start.Add(s.cfg.RequestTimeout + deadlineGrace))
			rc.SetWriteDeadline(start.Add(s.cfg.RequestTimeout + deadlineGrace))
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, "internal", "internal error")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			// The mux set r.Pattern to the pattern it matched.
			s.metrics.observe(s.metrics.endpoint(r.Pattern), status, time.Since(start))
		}()
		mux.ServeHTTP(sw, r)
	})
}
