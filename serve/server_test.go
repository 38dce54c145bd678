package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/api"
)

// testArtifact loads a small kNN artifact: "cheap" answers arithmetic
// only, "big" everything.
func testArtifact(t testing.TB) *artifact.Loaded {
	t.Helper()
	l, err := artifact.Load(context.Background(), artifacttest.KNN(t, nil), encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func do(t testing.TB, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, rec.Body.Bytes()
}

func TestRoute(t *testing.T) {
	s := New(Config{MaxBodyBytes: 4096}, nil)
	h := s.Handler()
	if code, _ := do(t, h, "GET", "/readyz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before a router: %d", code)
	}
	if code, b := do(t, h, "POST", "/v1/route", `{"prompt":"hi"}`); code != http.StatusServiceUnavailable || !strings.Contains(string(b), "not_ready") {
		t.Errorf("route before a router: %d %s", code, b)
	}
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, false)
	if code, _ := do(t, h, "GET", "/readyz", ""); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
	var r api.RouteResponse
	code, b := do(t, h, "POST", "/v1/route", `{"prompt":"what is 4 plus 9"}`)
	if code != http.StatusOK || json.Unmarshal(b, &r) != nil || r.Model != "cheap" || r.Router != "knn" || r.Version != "v1" || len(r.Scores) != 2 {
		t.Fatalf("route arithmetic: %d %s", code, b)
	}
	code, b = do(t, h, "POST", "/v1/route", `{"messages":[{"role":"user","content":"what is 1 plus 1"},{"role":"assistant","content":"2"},{"role":"user","content":"compose a poem about the moon"}]}`)
	if code != http.StatusOK || json.Unmarshal(b, &r) != nil || r.Model != "big" {
		t.Errorf("route the last user turn (a poem): %d %s", code, b)
	}
	// A per-request lambda: a huge price of cost sends even poems to cheap.
	code, b = do(t, h, "POST", "/v1/route", `{"prompt":"compose a poem about the moon","policy":{"lambda":100000}}`)
	if code != http.StatusOK || json.Unmarshal(b, &r) != nil || r.Model != "cheap" {
		t.Errorf("lambda override: %d %s", code, b)
	}
	var br api.BatchResponse
	code, b = do(t, h, "POST", "/v1/route/batch", `{"prompts":["what is 2 plus 2","compose a poem about the sea"]}`)
	if code != http.StatusOK || json.Unmarshal(b, &br) != nil || len(br.Decisions) != 2 || br.Decisions[0].Model != "cheap" || br.Decisions[1].Model != "big" {
		t.Errorf("batch: %d %s", code, b)
	}
}

func TestRouteErrors(t *testing.T) {
	s := New(Config{MaxBodyBytes: 256}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, true)
	h := s.Handler()
	for _, c := range []struct {
		name, method, path, body string
		code                     int
		errCode                  string
	}{
		{"bad json", "POST", "/v1/route", `{"prompt":`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/route", `{"promt":"hi"}`, 400, "bad_request"},
		{"two values", "POST", "/v1/route", `{"prompt":"a"}{"prompt":"b"}`, 400, "bad_request"},
		{"no prompt", "POST", "/v1/route", `{}`, 400, "bad_request"},
		{"prompt and messages", "POST", "/v1/route", `{"prompt":"a","messages":[{"role":"user","content":"b"}]}`, 400, "bad_request"},
		{"too large", "POST", "/v1/route", `{"prompt":"` + strings.Repeat("x", 300) + `"}`, 413, "body_too_large"},
		{"unknown router", "POST", "/v1/route", `{"router":"mf","prompt":"hi"}`, 404, "unknown_router"},
		{"unknown model", "POST", "/v1/route", `{"prompt":"hi","models":["gpt-9"]}`, 400, "bad_request"},
		{"threshold on a utility router", "POST", "/v1/route", `{"prompt":"hi","policy":{"threshold":0.5}}`, 400, "bad_request"},
		{"negative lambda", "POST", "/v1/route", `{"prompt":"hi","policy":{"lambda":-1}}`, 400, "bad_request"},
		{"empty batch", "POST", "/v1/route/batch", `{"prompts":[]}`, 400, "bad_request"},
		{"no endpoint", "GET", "/v2/x", ``, 404, "not_found"},
		{"wrong method", "GET", "/v1/route", ``, 405, "method_not_allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
			if rec.Code != c.code {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.code, rec.Body)
			}
			if c.errCode == "" {
				return
			}
			var e api.Error
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code != c.errCode || e.Error.Message == "" {
				t.Errorf("error body %s, want code %s and a message", rec.Body, c.errCode)
			}
		})
	}
}

// TestSwapUnderLoad swaps the router while requests run; every request
// succeeds on the old or the new version (go test -race).
func TestSwapUnderLoad(t *testing.T) {
	l := testArtifact(t)
	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: l}, true)
	h := s.Handler()
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/route", bytes.NewBufferString(`{"prompt":"what is 3 plus 4"}`)))
				var r api.RouteResponse
				if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &r) != nil || (r.Version != "v1" && r.Version != "v2") {
					errs <- fmt.Sprintf("%d %s", rec.Code, rec.Body)
				}
			}
		}()
	}
	for i := 0; i < 10; i++ {
		s.Set(&Route{Name: "knn", Version: fmt.Sprintf("v%d", 1+i%2), Loaded: l}, true)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// FuzzRoute sends arbitrary bodies: the server answers 200 or a 4xx with
// a JSON error, never a 5xx or a panic.
func FuzzRoute(f *testing.F) {
	l := testArtifact(f)
	s := New(Config{MaxBodyBytes: 1 << 12}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: l}, true)
	h := s.Handler()
	for _, seed := range []string{`{"prompt":"what is 1 plus 2"}`, `{"messages":[{"role":"user","content":"poem"}]}`,
		`{"prompt":"x","policy":{"lambda":1e308}}`, `{"prompt":"x","models":["big"]}`, `[]`, `null`, `{"prompt":"\u0000"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/route", "/v1/route/batch"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
			if rec.Code >= 500 {
				t.Fatalf("%s %q: status %d %s", path, body, rec.Code, rec.Body)
			}
			if rec.Code != 200 {
				var e api.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
					t.Fatalf("%s %q: status %d with body %s", path, body, rec.Code, rec.Body)
				}
			}
		}
	})
}
