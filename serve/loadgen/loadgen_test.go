package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/routekit/routekit/serve/api"
)

// counting is a test server that counts the requests it answered and
// fails every failEvery-th one (0: never) with a 500.
type counting struct {
	delay     time.Duration // answer after this long
	failEvery int64
	serverUS  int64 // the latency_us it reports
	total     atomic.Int64
	failed    atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in api.RouteRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Prompt == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	n := c.total.Add(1)
	if c.failEvery > 0 && n%c.failEvery == 0 {
		c.failed.Add(1)
		http.Error(w, `{"error":{"code":"internal","message":"boom"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"model":"m","scores":{"m":1},"router":"r","version":"v","latency_us": %d}`, c.serverUS)
}

func bodies(t *testing.T) [][]byte {
	t.Helper()
	b, err := RouteBodies([]string{"What is 2 plus 2?", "Write a haiku about rain.", "Prove that sqrt(2) is irrational."}, api.RouteRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenLoopDelay(t *testing.T) {
	h := &counting{delay: 2 * time.Millisecond, serverUS: 1234}
	srv := httptest.NewServer(h)
	defer srv.Close()
	// 200 requests/s for 0.5 s: exactly 100 requests are scheduled.
	res, err := Run(context.Background(), Config{URL: srv.URL, Bodies: bodies(t), Rate: 200, Duration: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 100 || res.OK != 100 || res.Errors != 0 || h.total.Load() != 100 {
		t.Fatalf("sent %d ok %d errors %d %v, server saw %d; want 100 ok", res.Sent, res.OK, res.Errors, res.ErrorKinds, h.total.Load())
	}
	// Every answer takes at least the handler's delay.
	if l := res.Latency; l.Count != 100 || l.Min < h.delay || l.P50 < l.Min || l.P99 < l.P50 || l.Max < l.P999 {
		t.Errorf("latency %+v: want 100 values of at least %v, ordered", l, h.delay)
	}
	want := Summary{Count: 100, Min: 1234 * time.Microsecond, Mean: 1234 * time.Microsecond, P50: 1234 * time.Microsecond,
		P90: 1234 * time.Microsecond, P99: 1234 * time.Microsecond, P999: 1234 * time.Microsecond, Max: 1234 * time.Microsecond}
	if diff := cmp.Diff(want, res.Server); diff != "" {
		t.Errorf("server latency (-want +got):\n%s", diff)
	}
	if !res.Open || res.SendLag.Count != 100 || res.Service.Count != 100 || res.Service.Min < h.delay || res.Elapsed < res.Duration || res.RPS <= 0 || res.RPS > 200 {
		t.Errorf("open %v, lag count %d, elapsed %v, rps %v", res.Open, res.SendLag.Count, res.Elapsed, res.RPS)
	}
}

func TestErrorCountsExact(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"open", Config{Rate: 400, Duration: 500 * time.Millisecond}},
		{"closed", Config{Concurrency: 4, Duration: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &counting{failEvery: 10}
			srv := httptest.NewServer(h)
			defer srv.Close()
			cfg := tc.cfg
			cfg.URL, cfg.Bodies = srv.URL, bodies(t)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			total, failed := h.total.Load(), h.failed.Load()
			if res.Sent != total || res.Errors != failed || res.OK != total-failed ||
				!cmp.Equal(res.ErrorKinds, map[string]int64{"status 500": failed}) {
				t.Errorf("sent %d ok %d errors %v; server answered %d, failed %d", res.Sent, res.OK, res.ErrorKinds, total, failed)
			}
			if failed != total/10 || total < 10 {
				t.Errorf("server answered %d and failed %d: want every 10th failed", total, failed)
			}
			if tc.cfg.Rate > 0 && total != 200 {
				t.Errorf("open loop sent %d, want 400/s x 0.5 s = 200", total)
			}
			if res.Server.Count != res.OK || res.Latency.Count != res.Sent {
				t.Errorf("%d server latencies and %d latencies for %d ok of %d", res.Server.Count, res.Latency.Count, res.OK, res.Sent)
			}
		})
	}
}

func TestWarmupNotCounted(t *testing.T) {
	h := &counting{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Bodies: bodies(t), Rate: 200,
		Warmup: 250 * time.Millisecond, Duration: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if h.total.Load() != 100 || res.Sent != 50 || res.OK != 50 {
		t.Errorf("server saw %d, measured %d sent %d ok: want 100 sent, the last 50 measured", h.total.Load(), res.Sent, res.OK)
	}
}

func TestTimeoutsAndConnectionErrors(t *testing.T) {
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block) // before slow.Close, which waits for the handlers
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/v1/route"
	ln.Close()

	for _, tc := range []struct {
		name, url, kind string
	}{
		{"timeout", slow.URL, KindTimeout},
		{"refused", closed, KindConnection},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), Config{URL: tc.url, Bodies: bodies(t), Concurrency: 2,
				Duration: 200 * time.Millisecond, Timeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent == 0 || res.OK != 0 || !cmp.Equal(res.ErrorKinds, map[string]int64{tc.kind: res.Sent}) {
				t.Errorf("sent %d ok %d errors %v: want every request a %s", res.Sent, res.OK, res.ErrorKinds, tc.kind)
			}
		})
	}
}

func TestQueueTimeout(t *testing.T) {
	// One slot, 20 ms per answer, a request every 5 ms: the queue grows
	// by 3 requests per answer, so requests soon wait past the timeout
	// and are dropped; their latency counts from the scheduled time.
	h := &counting{delay: 20 * time.Millisecond}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Bodies: bodies(t), Rate: 200, Concurrency: 1,
		Duration: 300 * time.Millisecond, Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	q := res.ErrorKinds[KindQueueTimeout]
	if res.Sent != 60 || q == 0 || res.OK+q != 60 || res.OK != h.total.Load() {
		t.Errorf("sent %d ok %d errors %v, server answered %d: want 60 = ok + queue timeouts", res.Sent, res.OK, res.ErrorKinds, h.total.Load())
	}
	if res.SendLag.Max < 40*time.Millisecond || res.Latency.Max < res.SendLag.Max {
		t.Errorf("send lag %v, latency max %v: queueing must show in both", res.SendLag.Max, res.Latency.Max)
	}
}

func TestCancel(t *testing.T) {
	h := &counting{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Config{URL: srv.URL, Bodies: bodies(t), Rate: 100, Duration: time.Hour})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil || res.OK == 0 || res.Errors != 0 {
		t.Fatalf("res %+v, err %v: want partial results and the context's error", res, err)
	}
	if time.Since(start) > time.Minute {
		t.Errorf("Run returned %v after its context ended", time.Since(start))
	}
}

func TestValidate(t *testing.T) {
	b := [][]byte{[]byte(`{"prompt":"x"}`)}
	for _, tc := range []struct {
		cfg  Config
		want string // error substring; "" means valid
	}{
		{Config{URL: "http://127.0.0.1:1/v1/route", Bodies: b}, ""},
		{Config{URL: "http://127.0.0.1:1/v1/route", Bodies: b, Rate: 2000, Concurrency: 8}, ""},
		{Config{Bodies: b}, "URL is required"},
		{Config{URL: "127.0.0.1:8080/v1/route", Bodies: b}, "want http://"},
		{Config{URL: "ftp://h/x", Bodies: b}, "want http://"},
		{Config{URL: "http://h/x"}, "no request bodies"},
		{Config{URL: "http://h/x", Bodies: b, Rate: -1}, "Rate -1"},
		{Config{URL: "http://h/x", Bodies: b, Concurrency: -3}, "Concurrency -3"},
		{Config{URL: "http://h/x", Bodies: b, Timeout: -time.Second}, "negative"},
		{Config{URL: "http://h/x", Bodies: b, Rate: 1e7, Duration: time.Hour}, "more than"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestHistogramMatchesSortedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var all []time.Duration
	for i := 0; i < 50000; i++ {
		// Log-normal around 400 µs with a heavy tail, as server latencies.
		d := time.Duration(400e3 * rngLogNormal(rng))
		all = append(all, d)
		h.record(d)
	}
	slices.Sort(all)
	exact := func(q float64) time.Duration {
		i := int(float64(len(all))*q+0.999999) - 1
		return all[max(i, 0)]
	}
	for _, q := range []float64{0, 0.5, 0.9, 0.99, 0.999, 1} {
		got, want := h.quantile(q), exact(q)
		// One bucket: 1 µs below 1,024 µs, 1/512 of the value above.
		tol := max(time.Microsecond, want/512)
		if d := got - want; d > tol || d < -tol {
			t.Errorf("quantile(%v) = %v, exact %v (tolerance %v)", q, got, want, tol)
		}
	}
	if s := h.summary(); s.Min != all[0] || s.Max != all[len(all)-1] || s.Count != 50000 {
		t.Errorf("summary %+v: min %v max %v", s, all[0], all[len(all)-1])
	}
	// Buckets tile the value range without gaps.
	for i := 1; i <= bucketOf(maxUS-1); i++ {
		lo, w := bucketRange(i - 1)
		next, _ := bucketRange(i)
		if lo+w != next || bucketOf(next) != i || bucketOf(next-1) != i-1 {
			t.Fatalf("bucket %d: [%d, %d) then %d", i-1, lo, lo+w, next)
		}
	}
	var merged, a, b histogram
	a.record(time.Millisecond)
	b.record(3 * time.Second)
	merged.merge(&a)
	merged.merge(&b)
	if merged.n != 2 || merged.min != time.Millisecond || merged.max != 3*time.Second || merged.quantile(1) != 3*time.Second {
		t.Errorf("merged: %+v", merged.summary())
	}
}

func rngLogNormal(r *rand.Rand) float64 {
	x := r.NormFloat64() * 0.6
	if r.IntN(100) == 0 {
		x += 3 // the tail: 1% of values ~20x slower
	}
	return math.Exp(x)
}

func TestLatencyUS(t *testing.T) {
	for _, tc := range []struct {
		body string
		want int64
		ok   bool
	}{
		{`{"model":"a","latency_us":417}`, 417, true},
		{`{"latency_us": 12, "x": 1}`, 12, true},
		{`{"model":"a"}`, 0, false},
		{`{"latency_us":"x"}`, 0, false},
		{`{"latency_us":`, 0, false},
	} {
		got, ok := latencyUS([]byte(tc.body))
		if got != tc.want || ok != tc.ok {
			t.Errorf("latencyUS(%s) = %d, %v; want %d, %v", tc.body, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(Summary{Count: 3, Min: 1500 * time.Nanosecond, P99: 2 * time.Millisecond, Max: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"count":3,"min_us":1.5,"mean_us":0,"p50_us":0,"p90_us":0,"p99_us":2000,"p999_us":0,"max_us":1000000}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestKindsOrder(t *testing.T) {
	r := &Result{ErrorKinds: map[string]int64{"status 503": 2, KindTimeout: 5, "status 500": 2}}
	if got, want := r.Kinds(), []string{KindTimeout, "status 500", "status 503"}; !slices.Equal(got, want) {
		t.Errorf("Kinds() = %v, want %v", got, want)
	}
}

func TestLoadPrompts(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "prompts.txt")
	if err := os.WriteFile(txt, []byte("What is 2+2?\n\n  Write a poem.  \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	jl := filepath.Join(dir, "outcomes.jsonl")
	rows := `{"prompt":"What is 2+2?","model":"a","score":1}
{"prompt":"What is 2+2?","model":"b","score":0}
{"prompt":"Translate 'hello' to French.","model":"a","score":1}
`
	if err := os.WriteFile(jl, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("\n \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"prompt":"x","model":"a","score":1}`+"\n{oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		path    string
		want    []string
		wantErr string
	}{
		{txt, []string{"What is 2+2?", "Write a poem."}, ""},
		{jl, []string{"What is 2+2?", "Translate 'hello' to French."}, ""},
		{empty, nil, "no prompts"},
		{bad, nil, "bad.jsonl:2"},
		{filepath.Join(dir, "missing.txt"), nil, "no such file"},
	} {
		got, err := LoadPrompts(ctx, tc.path)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("LoadPrompts(%s) error %v, want %q", filepath.Base(tc.path), err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LoadPrompts(%s) = %q, %v; want %q", filepath.Base(tc.path), got, err, tc.want)
		}
	}
}

func TestSyntheticPromptsAndBodies(t *testing.T) {
	a, err := SyntheticPrompts(50, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SyntheticPrompts(50, 7)
	if len(a) != 50 || !slices.Equal(a, b) {
		t.Fatalf("%d prompts, deterministic %v", len(a), slices.Equal(a, b))
	}
	if _, err := SyntheticPrompts(0, 1); err == nil {
		t.Error("SyntheticPrompts(0) succeeded")
	}
	lambda := 20.0
	bs, err := RouteBodies(a[:2], api.RouteRequest{Router: "irt", Policy: &api.Policy{Lambda: &lambda}})
	if err != nil {
		t.Fatal(err)
	}
	var got api.RouteRequest
	if err := json.Unmarshal(bs[1], &got); err != nil || got.Prompt != a[1] || got.Router != "irt" || *got.Policy.Lambda != 20 {
		t.Errorf("body %s: %+v %v", bs[1], got, err)
	}
}
