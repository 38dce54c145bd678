package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/api"
	"github.com/routekit/routekit/serve/fakeupstream"
)

// startServer serves s on a loopback port with Serve. stop cancels it
// (a graceful shutdown) and returns Serve's error; it is also called at
// the end of the test.
func startServer(t *testing.T, s *Server, grace time.Duration) (base string, client *http.Client, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln, grace) }()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	var once sync.Once
	var serr error
	stop = func() error {
		once.Do(func() {
			cancel()
			// Connections the client dialled but never used count as
			// active for 5 s in Shutdown: close them.
			tr.CloseIdleConnections()
			serr = <-errc
		})
		return serr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), &http.Client{Transport: tr}, stop
}

func postRoute(c *http.Client, base, body string) (api.RouteResponse, error) {
	resp, err := c.Post(base+"/v1/route", "application/json", strings.NewReader(body))
	if err != nil {
		return api.RouteResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return api.RouteResponse{}, err
	}
	if resp.StatusCode != 200 {
		return api.RouteResponse{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r api.RouteResponse
	return r, json.Unmarshal(b, &r)
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// waitFor polls cond until it holds; the limit only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestIntegrationReloadUnderLoad promotes versions while clients route
// over a real listener: the watch picks up v2, an admin reload v3, a v4
// with the wrong encoder is refused, and not one request fails.
func TestIntegrationReloadUnderLoad(t *testing.T) {
	const token = "integration-token"
	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	s := New(Config{AdminToken: token, WatchInterval: 10 * time.Millisecond}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	if _, err := rl.Reload(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() { rl.Watch(wctx); close(watchDone) }()
	defer func() { stopWatch(); <-watchDone }()
	base, client, stop := startServer(t, s, 10*time.Second)

	var (
		ok, failed atomic.Int64
		mu         sync.Mutex // guards seen, errs
		seen       = map[string]int{}
		errs       []string
		done       = make(chan struct{})
		wg         sync.WaitGroup
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				r, err := postRoute(client, base, fmt.Sprintf(`{"prompt":"what is %d plus 9"}`, i))
				mu.Lock()
				if err != nil || r.Model != "cheap" {
					failed.Add(1)
					errs = append(errs, fmt.Sprintf("%+v %v", r, err))
				} else {
					ok.Add(1)
					seen[r.Version]++
				}
				mu.Unlock()
			}
		}()
	}
	served := func(v string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return seen[v] > 0 }
	}
	waitFor(t, "requests on v1", served("v1"))

	// The watch picks up a promotion.
	v2 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v2.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "requests on v2", served("v2"))

	// An admin reload serves v3 now (or finds the watch was quicker).
	v3 := addVersion(t, reg, "knn")
	if err := reg.Promote("knn", v3.ID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/admin/reload", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rr struct{ Results []ReloadResult }
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil || resp.StatusCode != 200 || len(rr.Results) != 1 || rr.Results[0].Serving != "v3" {
		t.Fatalf("admin reload: %d %+v %v", resp.StatusCode, rr, err)
	}
	resp.Body.Close()
	waitFor(t, "requests on v3", served("v3"))

	// v4 was trained with another encoder: it reads cleanly (so the
	// registry promotes it) but does not load. Refused, counted, shown.
	m, blobs := knnBlobs(t)
	m.Encoder.Digest = strings.Repeat("0", 64)
	v4, err := reg.Add("knn", m, blobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Promote("knn", v4.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refusal of v4", func() bool { return testutil.ToFloat64(s.metrics.reloadFailures.WithLabelValues("knn")) == 1 })
	before := ok.Load()
	waitFor(t, "more requests after the refusal", func() bool { return ok.Load() >= before+20 })
	close(done)
	wg.Wait()

	t.Logf("%d requests during 3 reloads and 1 refusal, %d failed; by version %v", ok.Load()+failed.Load(), failed.Load(), seen)
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during reloads, e.g. %s", n, n+ok.Load(), errs[0])
	}
	for v := range seen {
		if v != "v1" && v != "v2" && v != "v3" {
			t.Errorf("answered by version %q", v)
		}
	}
	if r, err := postRoute(client, base, `{"prompt":"what is 1 plus 1"}`); err != nil || r.Version != "v3" {
		t.Errorf("after refusing v4: %+v %v", r, err)
	}
	var routers struct{ Routers []routerStatus }
	if err := json.Unmarshal([]byte(get(t, client, base+"/v1/routers")), &routers); err != nil || len(routers.Routers) != 1 ||
		routers.Routers[0].Version != "v3" || routers.Routers[0].LastErrorVersion != "v4" ||
		!strings.Contains(routers.Routers[0].LastError, artifact.ErrEncoderMismatch.Error()) {
		t.Errorf("/v1/routers: %+v %v", routers, err)
	}
	metrics := get(t, client, base+"/metrics")
	for _, want := range []string{
		`routekit_reload_failures_total{router="knn"} 1`,
		`routekit_reloads_total{result="failed",router="knn"} 1`,
		`routekit_reloads_total{result="ok",router="knn"} 3`,
		`routekit_router_info{kind="knn",router="knn",version="v3"} 1`,
		`routekit_decisions_total{model="cheap",router="knn"}`,
		`routekit_request_duration_seconds_bucket{endpoint="/v1/route",le="5e-05"}`,
		`routekit_requests_total{code="200",endpoint="/admin/reload"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `version="v1"`) || strings.Contains(metrics, `version="v2"`) {
		t.Error("/metrics still has the info series of an old version")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Every successful route was counted, once (+1: the check after the
	// load).
	if got, want := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/v1/route", "200")), float64(ok.Load()+1); got != want {
		t.Errorf("requests_total{/v1/route,200} = %v, want %v", got, want)
	}
	if got, want := testutil.ToFloat64(s.metrics.decisions.WithLabelValues("knn", "cheap")), float64(ok.Load()+1); got != want {
		t.Errorf("decisions_total{knn,cheap} = %v, want %v", got, want)
	}
}

// TestIntegrationGracefulShutdown stops the server while a request is in
// flight: new connections are refused at once, the request completes,
// and only then does Serve return.
func TestIntegrationGracefulShutdown(t *testing.T) {
	l := testArtifact(t)
	gate := &slowEncoder{Encoder: l.Encoder, started: make(chan struct{}), release: make(chan struct{})}
	slow := *l
	slow.Encoder = gate
	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: &slow}, true)
	base, client, stop := startServer(t, s, 30*time.Second)

	type result struct {
		r   api.RouteResponse
		err error
	}
	inflight := make(chan result, 1)
	go func() {
		r, err := postRoute(client, base, `{"prompt":"SLOW: what is 2 plus 2"}`)
		inflight <- result{r, err}
	}()
	select {
	case <-gate.started:
	case r := <-inflight:
		t.Fatalf("the request did not reach the encoder: %+v", r)
	case <-time.After(30 * time.Second):
		t.Fatal("the request did not reach the encoder")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	// The listener closes at once: a new connection is refused.
	waitFor(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case r := <-inflight:
		t.Fatalf("the in-flight request finished before it was released: %+v", r)
	default:
	}
	close(gate.release)
	if r := <-inflight; r.err != nil || r.r.Model != "cheap" {
		t.Errorf("in-flight request: %+v %v", r.r, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// slowEncoder holds texts containing "SLOW" until release is closed.
type slowEncoder struct {
	encoder.Encoder
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (e *slowEncoder) Encode(ctx context.Context, texts []string) ([][]float32, error) {
	for _, t := range texts {
		if strings.Contains(t, "SLOW") {
			e.once.Do(func() { close(e.started) })
			select {
			case <-e.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return e.Encoder.Encode(ctx, texts)
}

// TestIntegrationStreamingPassthrough streams a proxied chat completion
// over a real listener for longer than the request timeout: events arrive
// one by one and the stream is not cut.
func TestIntegrationStreamingPassthrough(t *testing.T) {
	hold := make(chan struct{})
	fu := &fakeupstream.Server{Chunks: 3, Hold: hold}
	up := httptest.NewServer(fu)
	defer up.Close()
	const timeout = 50 * time.Millisecond
	s := New(Config{RequestTimeout: timeout, Proxy: ProxyConfig{DefaultUpstream: &data.Upstream{BaseURL: up.URL + "/v1"}}}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, true)
	if err := s.Open(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base, client, stop := startServer(t, s, 10*time.Second)

	// A route request first, so the stream may reuse a connection that
	// had a write deadline.
	if _, err := postRoute(client, base, `{"prompt":"what is 2 plus 2"}`); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model":"router-knn","stream":true,"messages":[{"role":"user","content":"compose a poem about the sea and the moon"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || resp.Header.Get("X-Routekit-Model") != "big" {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	br := bufio.NewReader(resp.Body)
	next := func() string {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the stream: %v", err)
			}
			if line = strings.TrimSpace(line); line != "" {
				return line
			}
		}
	}
	var content strings.Builder
	addContent := func(line string) {
		var ev struct {
			Choices []struct {
				Delta struct{ Content string }
			}
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev); err != nil || len(ev.Choices) != 1 {
			t.Fatalf("event %q: %v", line, err)
		}
		content.WriteString(ev.Choices[0].Delta.Content)
	}
	// The first event arrives while the upstream holds the rest.
	addContent(next())
	for i := 0; i < 2; i++ {
		time.Sleep(2 * timeout) // outlast the request timeout
		select {
		case hold <- struct{}{}:
		case <-time.After(30 * time.Second):
			t.Fatal("the upstream stopped streaming")
		}
		addContent(next())
	}
	addContent(next()) // finish_reason stop
	if line := next(); line != "data: [DONE]" {
		t.Errorf("last event %q", line)
	}
	if !strings.HasPrefix(content.String(), "[fake big]") || !strings.Contains(content.String(), "sea and the moon") {
		t.Errorf("streamed content %q", content.String())
	}
	resp.Body.Close()
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("/v1/chat/completions", "200")); got != 1 {
		t.Errorf("chat completions counted %v times, want 1", got)
	}
}
