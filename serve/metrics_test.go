package serve

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsLabels checks that endpoints are labelled by their route
// pattern, never by the raw path, and that decisions and codes are
// counted.
func TestMetricsLabels(t *testing.T) {
	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, true)
	h := s.Handler()
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/route", `{"prompt":"what is 1 plus 1"}`},
		{"POST", "/v1/route", `{"prompt":"compose a poem about the moon"}`},
		{"POST", "/v1/route", `{"prompt":`},
		{"POST", "/v1/route/batch", `{"prompts":["what is 2 plus 2","compose a poem"]}`},
		{"GET", "/v1/route", ``},
		{"GET", "/no/such/a1b2c3", ``},
		{"GET", "/no/such/d4e5f6", ``},
		{"GET", "/healthz", ``},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
	}
	if err := testutil.CollectAndCompare(s.metrics.requests, strings.NewReader(`
# HELP routekit_requests_total HTTP requests answered, by endpoint (the route pattern's path, or "other") and status code.
# TYPE routekit_requests_total counter
routekit_requests_total{code="200",endpoint="/healthz"} 1
routekit_requests_total{code="200",endpoint="/v1/route"} 2
routekit_requests_total{code="200",endpoint="/v1/route/batch"} 1
routekit_requests_total{code="400",endpoint="/v1/route"} 1
routekit_requests_total{code="404",endpoint="other"} 2
routekit_requests_total{code="405",endpoint="/v1/route"} 1
`)); err != nil {
		t.Error(err)
	}
	if err := testutil.CollectAndCompare(s.metrics.decisions, strings.NewReader(`
# HELP routekit_decisions_total Routing decisions by router name and chosen model (route shares).
# TYPE routekit_decisions_total counter
routekit_decisions_total{model="big",router="knn"} 2
routekit_decisions_total{model="cheap",router="knn"} 2
`)); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(s.metrics.duration); n != 4 {
		t.Errorf("%d duration series, want 4 (/v1/route, /v1/route/batch, /healthz, other)", n)
	}
}

// TestPanicIsJSON500 checks that a handler panic becomes a counted JSON
// 500, not a dropped connection.
func TestPanicIsJSON500(t *testing.T) {
	s := New(Config{}, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rec := httptest.NewRecorder()
	s.instrument(mux).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"code":"internal"`) {
		t.Errorf("panic: %d %s", rec.Code, rec.Body)
	}
	if n := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/boom", "500")); n != 1 {
		t.Errorf("500s counted %v", n)
	}
}

// BenchmarkRouteHandler measures POST /v1/route through the full handler
// (mux, metrics, deadlines) against the bare route handler; the
// difference is the per-request cost of the instrumentation.
func BenchmarkRouteHandler(b *testing.B) {
	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(b)}, true)
	const body = `{"prompt":"what is 4 plus 9"}`
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"full", s.Handler()}, {"bare", http.HandlerFunc(s.handleRoute)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				c.h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/route", strings.NewReader(body)))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// BenchmarkObserve is the metrics cost of one request alone.
func BenchmarkObserve(b *testing.B) {
	m := newMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.observe(m.endpoint("POST /v1/route"), 200, 1234)
	}
}
