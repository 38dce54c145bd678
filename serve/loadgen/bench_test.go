package loadgen

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve"
	"github.com/routekit/routekit/serve/api"
)

// benchServer serves the artifact of ROUTEKIT_BENCH_ARTIFACT (such as
// .cache/loadtest/mf after make loadtest), else a small kNN artifact, and
// returns its handler and 1,000 synthetic route bodies.
func benchServer(b *testing.B) (http.Handler, [][]byte) {
	b.Helper()
	dir := os.Getenv("ROUTEKIT_BENCH_ARTIFACT")
	if dir == "" {
		dir = artifacttest.KNN(b, nil)
	}
	l, err := artifact.Load(context.Background(), dir, encoder.ONNXConfig{LibraryPath: os.Getenv("ROUTEKIT_ORT_LIB")})
	if err != nil {
		b.Fatal(err)
	}
	s := serve.New(serve.Config{}, nil)
	s.Set(&serve.Route{Name: "bench", Version: "1", Loaded: l}, true)
	ps, err := SyntheticPrompts(1000, 1)
	if err != nil {
		b.Fatal(err)
	}
	bodies, err := RouteBodies(ps, api.RouteRequest{})
	if err != nil {
		b.Fatal(err)
	}
	return s.Handler(), bodies
}

// BenchmarkHandler measures the route handler alone, without a network:
// JSON decoding, encoding the prompt, scoring, JSON encoding.
func BenchmarkHandler(b *testing.B) {
	h, bodies := benchServer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/route", bytes.NewReader(bodies[i%len(bodies)]))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
		i++
	}
}

// BenchmarkLoopback measures a route request over loopback HTTP with
// keep-alive, client and server in this process, from parallel clients.
func BenchmarkLoopback(b *testing.B) {
	h, bodies := benchServer(b)
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[seq.Add(1)%int64(len(bodies))]
			resp, err := client.Post(srv.URL+"/v1/route", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
