package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/api"
	"github.com/routekit/routekit/serve/fakeupstream"
)

// waitLimit guards the tests' waits against hanging forever; it is not a
// latency assertion.
const waitLimit = 20 * time.Second

// proxyEnv is a routekit server with the kNN test router ("cheap" answers
// arithmetic, "big" everything; utility policy, lambda 20) whose proxy
// sends to a fake upstream: "big" through a catalog entry (model
// "gpt-big", key from BIG_KEY), every other model through the default
// upstream.
type proxyEnv struct {
	url      string // of the routekit server
	upstream string // the fake upstream's base URL
	fake     *fakeupstream.Server
	s        *Server
	logPath  string
}

func newProxyEnv(t testing.TB, fake *fakeupstream.Server, mutate func(cfg *Config, upstream string)) *proxyEnv {
	t.Helper()
	up := httptest.NewServer(fake)
	t.Cleanup(up.Close)
	dir := t.TempDir()
	catalog := filepath.Join(dir, "catalog.yaml")
	if err := os.WriteFile(catalog, []byte(fmt.Sprintf(`- name: big
  cost_per_query: 0.01
  upstream: {base_url: %q, model: gpt-big, api_key_env: BIG_KEY}
`, up.URL+"/v1/")), 0o644); err != nil {
		t.Fatal(err)
	}
	lambda := 1e5
	cfg := Config{
		Proxy: ProxyConfig{Catalog: catalog, DefaultUpstream: &data.Upstream{BaseURL: up.URL + "/v1"},
			Routes: map[string]ProxyRoute{"cheapskate": {Router: "knn", Lambda: &lambda}}},
		DecisionLog: DecisionLogConfig{Path: filepath.Join(dir, "decisions.jsonl"), IncludePrompt: true},
	}
	if mutate != nil {
		mutate(&cfg, up.URL+"/v1")
	}
	l, err := artifact.Load(context.Background(), artifacttest.KNN(t, nil), encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: l}, true)
	env := map[string]string{"BIG_KEY": "sk-test"}
	if err := s.Open(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return &proxyEnv{url: ts.URL, upstream: up.URL + "/v1", fake: fake, s: s, logPath: cfg.DecisionLog.Path}
}

func (e *proxyEnv) post(t *testing.T, ctx context.Context, body string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func chatBodyFor(model, prompt string, stream bool) string {
	return fmt.Sprintf(`{"model": %q, "stream": %v, "messages": [{"role": "user", "content": %q}]}`, model, stream, prompt)
}

func TestProxyPassesThrough(t *testing.T) {
	e := newProxyEnv(t, &fakeupstream.Server{}, nil)
	ctx := context.Background()
	// Odd key order, spacing, HTML-ish text, unknown fields and a content
	// array: all must reach the upstream byte for byte but for "model".
	body := `{ "temperature" : 0.5, "model":"router-knn" ,
	"messages": [{"role": "system", "content": "be <brief> & kind"},
	  {"role": "user", "content": [{"type": "text", "text": "compose a poem about the sea"},
	    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}],
	"user": "u\u003c1>", "x_extension": {"nested": [1, 2.50, null]} }`
	resp := e.post(t, ctx, body, nil)
	got := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	for k, want := range map[string]string{"X-Routekit-Model": "big", "X-Routekit-Router": "knn", "X-Routekit-Version": "v1",
		"Content-Type": "application/json"} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("header %s: %q, want %q", k, v, want)
		}
	}
	id := resp.Header.Get("X-Request-Id")
	if len(id) != 32 {
		t.Errorf("X-Request-Id %q: want a random 128-bit hex id", id)
	}
	var out struct {
		Model   string `json:"model"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(got, &out); err != nil || out.Model != "gpt-big" || len(out.Choices) != 1 ||
		out.Choices[0].Message.Content != "[fake gpt-big] you said: compose a poem about the sea" {
		t.Errorf("answer %s (err %v)", got, err)
	}
	reqs := e.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	if want := strings.Replace(body, `"router-knn"`, `"gpt-big"`, 1); string(reqs[0].Body) != want {
		t.Errorf("upstream body\n%s\nwant\n%s", reqs[0].Body, want)
	}
	if reqs[0].Authorization != "Bearer sk-test" || reqs[0].RequestID != id {
		t.Errorf("upstream headers: Authorization %q, X-Request-Id %q (want %q)", reqs[0].Authorization, reqs[0].RequestID, id)
	}

	// Arithmetic goes to "cheap", served by the default upstream under its
	// own name and without a key; the caller's request id is kept.
	resp = e.post(t, ctx, chatBodyFor("router-knn", "what is 4 plus 9", false), map[string]string{"X-Request-Id": "client-42"})
	got = readAll(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Routekit-Model") != "cheap" || resp.Header.Get("X-Request-Id") != "client-42" {
		t.Errorf("arithmetic: %d %v %s", resp.StatusCode, resp.Header, got)
	}
	if r := e.fake.Requests()[1]; r.Model != "cheap" || r.Authorization != "" {
		t.Errorf("arithmetic reached the upstream as model %q with Authorization %q", r.Model, r.Authorization)
	}

	// A configured route and a lambda in the name send poems to cheap.
	for _, model := range []string{"cheapskate", "router-knn-100000"} {
		resp = e.post(t, ctx, chatBodyFor(model, "compose a poem about the moon", false), nil)
		got = readAll(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Routekit-Model") != "cheap" {
			t.Errorf("model %s: %d %s %s", model, resp.StatusCode, resp.Header.Get("X-Routekit-Model"), got)
		}
	}

	// Every decision is logged, with its request id and prompt.
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	ds := readDecisions(t, e.logPath)
	want := []struct{ id, model, prompt, policy string }{
		{id, "big", "compose a poem about the sea", `{"kind":"utility","lambda":20}`},
		{"client-42", "cheap", "what is 4 plus 9", `{"kind":"utility","lambda":20}`},
		{"", "cheap", "compose a poem about the moon", `{"kind":"utility","lambda":100000}`},
		{"", "cheap", "compose a poem about the moon", `{"kind":"utility","lambda":100000}`},
	}
	if len(ds) != len(want) {
		t.Fatalf("%d decisions logged, want %d", len(ds), len(want))
	}
	for i, w := range want {
		d := ds[i]
		if w.id != "" && d.RequestID != w.id || d.RequestID == "" || d.ChosenModel != w.model || d.Prompt != w.prompt ||
			d.Policy != w.policy || d.Router != "knn" || d.RouterVersion != "v1" || len(d.Scores) != 2 {
			t.Errorf("decision %d: %+v, want %+v", i, d, w)
		}
	}
}

func TestProxyStreamsIncrementally(t *testing.T) {
	hold := make(chan struct{})
	e := newProxyEnv(t, &fakeupstream.Server{Chunks: 3, Hold: hold}, nil)
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release) // first, so that a failing test does not hang the servers' Close
	// The response is read in the background: a buffering proxy would
	// hold back even the headers.
	type head struct {
		resp *http.Response
		err  error
	}
	heads, events := make(chan head, 1), make(chan string, 64)
	go func() {
		defer close(events)
		req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/chat/completions",
			strings.NewReader(chatBodyFor("router-knn", "compose a poem about the sea and the moon", true)))
		resp, err := http.DefaultClient.Do(req)
		heads <- head{resp, err}
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "data: ") {
				events <- strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	// The upstream sends the second event only once hold is released, so
	// the first reaches us only if the proxy does not buffer.
	var first string
	select {
	case first = <-events:
	case <-time.After(waitLimit):
		t.Fatal("the first event did not arrive while the upstream held back the rest: the proxy buffers the stream")
	}
	h := <-heads
	if h.err != nil {
		t.Fatal(h.err)
	}
	if resp := h.resp; resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		resp.Header.Get("X-Routekit-Model") != "big" || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("stream response: %d %v", resp.StatusCode, resp.Header)
	}
	release()
	all := []string{first}
	for ev := range events {
		all = append(all, ev)
	}
	if all[len(all)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", all)
	}
	var text strings.Builder
	for _, ev := range all[:len(all)-1] {
		var chunk struct {
			Object  string `json:"object"`
			Model   string `json:"model"`
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(ev), &chunk); err != nil || chunk.Object != "chat.completion.chunk" || chunk.Model != "gpt-big" {
			t.Fatalf("event %q (err %v)", ev, err)
		}
		text.WriteString(chunk.Choices[0].Delta.Content)
	}
	if want := "[fake gpt-big] you said: compose a poem about the sea and the moon"; text.String() != want || len(all) < 5 {
		t.Errorf("streamed %d events with text %q, want 3 content events, a stop event and [DONE] with %q", len(all), text.String(), want)
	}
}

func TestProxyClientCancelStopsUpstream(t *testing.T) {
	canceled := make(chan struct{})
	hold := make(chan struct{}) // never released: the answer stalls after its first event
	e := newProxyEnv(t, &fakeupstream.Server{Hold: hold, OnCancel: func() { close(canceled) }}, nil)
	t.Cleanup(func() { close(hold) }) // first, so that a failing test does not hang the servers' Close
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := e.post(t, ctx, chatBodyFor("router-knn", "compose a poem about the sea", true), nil)
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q: %v", line, err)
	}
	cancel()
	select {
	case <-canceled:
	case <-time.After(waitLimit):
		t.Fatal("the upstream request was not canceled when the client went away")
	}
}

func TestProxyPassesUpstreamErrors(t *testing.T) {
	e := newProxyEnv(t, &fakeupstream.Server{FailStatus: http.StatusTooManyRequests}, nil)
	resp := e.post(t, context.Background(), chatBodyFor("router-knn", "what is 1 plus 2", false), nil)
	got := readAll(t, resp)
	var body api.Error
	if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(got, &body) != nil || body.Error.Code != "fake_failure" ||
		resp.Header.Get("X-Routekit-Model") != "cheap" {
		t.Errorf("upstream 429: got %d %s %v", resp.StatusCode, got, resp.Header)
	}
}

func TestProxyErrors(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/v1"
	down.Close() // nothing listens there any more
	e := newProxyEnv(t, &fakeupstream.Server{}, func(cfg *Config, up string) {
		cfg.Proxy.MaxBodyBytes = 512
		cfg.Proxy.DefaultUpstream = nil
		cfg.Proxy.Upstreams = map[string]data.Upstream{"cheap": {BaseURL: downURL}}
	})
	eNone := newProxyEnv(t, &fakeupstream.Server{}, func(cfg *Config, up string) { cfg.Proxy.DefaultUpstream = nil })
	for _, c := range []struct {
		name   string
		env    *proxyEnv
		body   string
		status int
		code   string
		msg    string
	}{
		{"unknown model", e, chatBodyFor("gpt-4o", "hi", false), 404, "model_not_found", `"gpt-4o"`},
		{"unknown router", e, chatBodyFor("router-nope", "hi", false), 404, "model_not_found", "serving knn"},
		{"bad knob", e, chatBodyFor("router-knn-abc", "hi", false), 404, "model_not_found", `"abc" after router knn`},
		{"no model", e, `{"messages": [{"role": "user", "content": "hi"}]}`, 400, "bad_request", "model: missing"},
		{"model not a string", e, `{"model": 3, "messages": []}`, 400, "bad_request", "model: not a string"},
		{"not an object", e, `[1, 2]`, 400, "bad_request", "not a JSON object"},
		{"invalid JSON", e, `{"model": "router-knn", "messages": [`, 400, "bad_request", "invalid JSON"},
		{"two values", e, chatBodyFor("router-knn", "hi", false) + "{}", 400, "bad_request", "more than one"},
		{"no user turn", e, `{"model": "router-knn", "messages": [{"role": "system", "content": "hi"}]}`, 400, "bad_request", "no user message"},
		{"bad content", e, `{"model": "router-knn", "messages": [{"role": "user", "content": 7}]}`, 400, "bad_request", "messages[0].content"},
		{"too large", e, chatBodyFor("router-knn", strings.Repeat("poem ", 200), false), 413, "body_too_large", ""},
		{"upstream down", e, chatBodyFor("router-knn", "what is 4 plus 9", false), 502, "upstream_unreachable", "model cheap at " + downURL},
		{"no upstream", eNone, chatBodyFor("router-knn", "what is 4 plus 9", false), 502, "no_upstream", "model cheap, chosen by router knn"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := c.env.post(t, context.Background(), c.body, nil)
			got := readAll(t, resp)
			var body api.Error
			if err := json.Unmarshal(got, &body); err != nil || resp.StatusCode != c.status || body.Error.Code != c.code ||
				!strings.Contains(body.Error.Message, c.msg) {
				t.Errorf("got %d %s, want %d %s with %q", resp.StatusCode, got, c.status, c.code, c.msg)
			}
			wantType := map[bool]string{true: "api_error", false: "invalid_request_error"}[c.status >= 500]
			if body.Error.Type != wantType {
				t.Errorf("error type %q, want %q", body.Error.Type, wantType)
			}
		})
	}
	if n := len(e.fake.Requests()) + len(eNone.fake.Requests()); n != 0 {
		t.Errorf("the fake upstream got %d requests", n)
	}
}

func TestModelsList(t *testing.T) {
	e := newProxyEnv(t, &fakeupstream.Server{}, nil)
	resp, err := http.Get(e.url + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, resp)
	var list api.ModelList
	if err := json.Unmarshal(got, &list); err != nil || resp.StatusCode != 200 || list.Object != "list" || len(list.Data) != 2 {
		t.Fatalf("models: %d %s", resp.StatusCode, got)
	}
	for i, id := range []string{"router-knn", "cheapskate"} {
		m := list.Data[i]
		if m.ID != id || m.Object != "model" || m.OwnedBy != "routekit" || m.Created < time.Now().Add(-time.Hour).Unix() {
			t.Errorf("models[%d] = %+v, want id %s", i, m, id)
		}
	}
}

func TestRouteLogsDecisions(t *testing.T) {
	e := newProxyEnv(t, &fakeupstream.Server{}, nil)
	post := func(path, body, id string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readAll(t, resp)
	}
	resp, b := post("/v1/route", `{"prompt": "what is 2 plus 2"}`, "route-1")
	var r api.RouteResponse
	if json.Unmarshal(b, &r) != nil || r.RequestID != "route-1" || resp.Header.Get("X-Request-Id") != "route-1" {
		t.Errorf("route: %s %v", b, resp.Header)
	}
	resp, b = post("/v1/route/batch", `{"prompts": ["what is 3 plus 3", "compose a poem about the sea"]}`, "")
	var br api.BatchResponse
	id := resp.Header.Get("X-Request-Id")
	if json.Unmarshal(b, &br) != nil || len(br.Decisions) != 2 || br.Decisions[0].RequestID != id+"-0" || br.Decisions[1].RequestID != id+"-1" {
		t.Errorf("batch: %s (X-Request-Id %q)", b, id)
	}
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	ds := readDecisions(t, e.logPath)
	if len(ds) != 3 || ds[0].RequestID != "route-1" || ds[0].ChosenModel != "cheap" || ds[1].RequestID != id+"-0" ||
		ds[2].RequestID != id+"-1" || ds[2].ChosenModel != "big" || ds[2].Prompt != "compose a poem about the sea" {
		t.Errorf("logged %+v", ds)
	}
}

func TestOpenErrors(t *testing.T) {
	l, err := artifact.Load(context.Background(), artifacttest.KNN(t, nil), encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	badCatalog := filepath.Join(t.TempDir(), "catalog.yaml")
	os.WriteFile(badCatalog, []byte("- name: big\n  upstream: {base_url: 'ftp://x'}\n"), 0o644)
	one := 1.0
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing key", Config{Proxy: ProxyConfig{Upstreams: map[string]data.Upstream{"big": {BaseURL: "http://x/v1", APIKeyEnv: "NOPE_KEY"}}}},
			"proxy.upstreams.big.api_key_env: environment variable NOPE_KEY is not set"},
		{"bad base url", Config{Proxy: ProxyConfig{DefaultUpstream: &data.Upstream{BaseURL: "localhost:9099"}}},
			"proxy.default_upstream.base_url"},
		{"bad catalog upstream", Config{Proxy: ProxyConfig{Catalog: badCatalog}}, "model big: upstream.base_url"},
		{"missing catalog", Config{Proxy: ProxyConfig{Catalog: badCatalog + ".nope"}}, "proxy.catalog"},
		{"route without router", Config{Proxy: ProxyConfig{Routes: map[string]ProxyRoute{"r": {}}}}, "proxy.routes.r.router: missing"},
		{"route with two knobs", Config{Proxy: ProxyConfig{Routes: map[string]ProxyRoute{"r": {Router: "knn", Threshold: &one, Lambda: &one}}}},
			"not both"},
		{"decision log path", Config{DecisionLog: DecisionLogConfig{Path: "decisions.txt"}}, "must end in .jsonl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New(c.cfg, nil)
			s.Set(&Route{Name: "knn", Version: "v1", Loaded: l}, true)
			err := s.Open(func(string) (string, bool) { return "", false })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Open: %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseChatReplacesOnlyModel(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"model":"a","x":1}`, `{"model":"gpt \"q\"","x":1}`},
		{`{"x" : {"model": "inner"}, "model" :  "a" }`, `{"x" : {"model": "inner"}, "model" :  "gpt \"q\"" }`},
		{`{"model":"a","model":"b"}`, `{"model":"gpt \"q\"","model":"gpt \"q\""}`},
	} {
		cb, err := parseChat([]byte(c.in))
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if got := string(cb.withModel(`gpt "q"`)); got != c.want {
			t.Errorf("%s: got %s, want %s", c.in, got, c.want)
		}
	}
}

// FuzzParseChat checks that any body either fails with a bad request or
// yields a prompt and a forwarded body that is valid JSON whenever the
// input is.
func FuzzParseChat(f *testing.F) {
	f.Add([]byte(chatBodyFor("router-knn", "hi", true)))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`))
	f.Add([]byte(`{"model":"m","model":"n","messages":null}`))
	f.Add([]byte(`{"model":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cb, err := parseChat(b)
		if err != nil {
			if !errors.Is(err, errBadRequest) {
				t.Fatalf("error %v is not a bad request", err)
			}
			return
		}
		out := cb.withModel("routed-model")
		if json.Valid(b) && !json.Valid(out) {
			t.Fatalf("forwarded body %q is not valid JSON (input %q)", out, b)
		}
		if len(cb.modelSpans) > 0 && !bytes.Contains(out, []byte(`"routed-model"`)) {
			t.Fatalf("model not replaced in %q", out)
		}
		cb.prompt()
	})
}

func TestProxyConfigFromYAML(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.yaml")
	os.WriteFile(path, []byte(`
proxy:
  catalog: upstreams.yaml
  default_upstream: {base_url: "http://127.0.0.1:9099/v1"}
  upstreams:
    big: {base_url: "https://api.example.com/v1", model: gpt-4o, api_key_env: OPENAI_API_KEY}
  routes:
    cheap-first: {router: knn, lambda: 1000, max_cost: 0.5}
  timeout: 2m
  max_body_bytes: 65536
decision_log:
  path: logs/decisions.jsonl
  max_bytes: 1048576
  max_files: 3
  include_prompt: true
  flush_interval: 500ms
`), 0o644)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	p, d := cfg.Proxy, cfg.DecisionLog
	r := p.Routes["cheap-first"]
	if p.Catalog != filepath.Join(dir, "upstreams.yaml") || p.DefaultUpstream == nil || p.DefaultUpstream.BaseURL != "http://127.0.0.1:9099/v1" ||
		p.Upstreams["big"] != (data.Upstream{BaseURL: "https://api.example.com/v1", Model: "gpt-4o", APIKeyEnv: "OPENAI_API_KEY"}) ||
		r.Router != "knn" || r.Lambda == nil || *r.Lambda != 1000 || r.MaxCost == nil || *r.MaxCost != 0.5 || r.Threshold != nil ||
		p.Timeout != 2*time.Minute || p.MaxBodyBytes != 65536 {
		t.Errorf("proxy decoded as %+v", p)
	}
	if d != (DecisionLogConfig{Path: filepath.Join(dir, "logs", "decisions.jsonl"), MaxBytes: 1 << 20, MaxFiles: 3,
		IncludePrompt: true, FlushInterval: 500 * time.Millisecond}) {
		t.Errorf("decision_log decoded as %+v", d)
	}
	os.WriteFile(path, []byte("proxy:\n  default_upstreams: {base_url: x}\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "default_upstreams") {
		t.Errorf("an unknown proxy key: %v", err)
	}
}

// TestProxyStreamOutlivesRequestTimeout checks that a stream is not cut
// by the deadlines of ordinary requests (Config.RequestTimeout).
func TestProxyStreamOutlivesRequestTimeout(t *testing.T) {
	hold := make(chan struct{})
	e := newProxyEnv(t, &fakeupstream.Server{Chunks: 2, Hold: hold}, func(cfg *Config, _ string) {
		cfg.RequestTimeout = 50 * time.Millisecond
	})
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(release)
	resp := e.post(t, context.Background(), chatBodyFor("router-knn", "compose a poem about the sea", true), nil)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q: %v", line, err)
	}
	time.Sleep(300 * time.Millisecond) // well past the request timeout
	release()
	rest, err := io.ReadAll(br)
	if err != nil || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("after the request timeout the stream went on with %q, %v; want the rest up to [DONE]", rest, err)
	}
}

// BenchmarkProxyChat measures a non-streamed chat completion through the
// proxy to the fake upstream over loopback (routing, forwarding, decision
// log); BenchmarkDirectChat is the same request straight to the fake, so
// the difference is the proxy's cost.
func BenchmarkProxyChat(b *testing.B) {
	benchChat(b, true)
}

// BenchmarkDirectChat is the baseline of BenchmarkProxyChat.
func BenchmarkDirectChat(b *testing.B) {
	benchChat(b, false)
}

func benchChat(b *testing.B, viaProxy bool) {
	e := newProxyEnv(b, &fakeupstream.Server{}, nil)
	url := e.upstream + "/chat/completions"
	if viaProxy {
		url = e.url + "/v1/chat/completions"
	}
	body := chatBodyFor("router-knn", "what is 4 plus 9", false)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := client.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
