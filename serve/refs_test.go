package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/api"
)

// countingEncoder is an artifact's encoder that counts Close calls, fails
// once closed, and can hold an Encode until released, like an ONNX
// encoder whose sessions a replaced version must give back.
type countingEncoder struct {
	encoder.Encoder
	closed  atomic.Int32
	entered chan struct{} // receives when an Encode starts, if set
	block   chan struct{} // Encode waits for it to close, if set
}

func (e *countingEncoder) Encode(ctx context.Context, texts []string) ([][]float32, error) {
	if e.entered != nil {
		e.entered <- struct{}{}
	}
	if e.block != nil {
		<-e.block
	}
	if e.closed.Load() > 0 {
		return nil, errors.New("encoder used after Close")
	}
	return e.Encoder.Encode(ctx, texts)
}

func (e *countingEncoder) Close() error {
	e.closed.Add(1)
	return nil
}

// withCountingEncoder returns a copy of l whose encoder is a countingEncoder.
func withCountingEncoder(l *artifact.Loaded) (*artifact.Loaded, *countingEncoder) {
	ce := &countingEncoder{Encoder: l.Encoder}
	c := *l
	c.Encoder = ce
	return &c, ce
}

// TestReplacedVersionClosesItsEncoder swaps a router's version while a
// request is inside the old version's encoder: the old encoder stays
// open until that request has its answer, then is closed exactly once;
// the new version's encoder closes with the server.
func TestReplacedVersionClosesItsEncoder(t *testing.T) {
	base := testArtifact(t)
	l1, e1 := withCountingEncoder(base)
	l2, e2 := withCountingEncoder(base)
	e1.entered, e1.block = make(chan struct{}, 1), make(chan struct{})

	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: l1}, true)
	h := s.Handler()

	type answer struct {
		code    int
		version string
	}
	done := make(chan answer)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/route", strings.NewReader(`{"prompt":"what is 3 plus 4"}`)))
		var r api.RouteResponse
		json.Unmarshal(rec.Body.Bytes(), &r)
		done <- answer{rec.Code, r.Version}
	}()
	<-e1.entered // the request is inside v1's encoder

	s.Set(&Route{Name: "knn", Version: "v2", Loaded: l2}, true)
	if n := e1.closed.Load(); n != 0 {
		t.Fatalf("v1's encoder closed %d times while a request was using it", n)
	}
	// New requests go to v2 meanwhile.
	if code, body := do(t, h, http.MethodPost, "/v1/route", `{"prompt":"what is 3 plus 4"}`); code != http.StatusOK || !strings.Contains(string(body), `"version":"v2"`) {
		t.Fatalf("a request after the swap: %d %s", code, body)
	}

	close(e1.block)
	if a := <-done; a.code != http.StatusOK || a.version != "v1" {
		t.Fatalf("the in-flight request: status %d, version %q; want 200 from v1", a.code, a.version)
	}
	if n := e1.closed.Load(); n != 1 {
		t.Errorf("v1's encoder closed %d times after its last request, want 1", n)
	}
	if n := e2.closed.Load(); n != 0 {
		t.Errorf("v2's encoder closed %d times while served", n)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := e2.closed.Load(); n != 1 {
		t.Errorf("v2's encoder closed %d times after Close, want 1", n)
	}
	if n := e1.closed.Load(); n != 1 {
		t.Errorf("v1's encoder closed %d times in all, want 1", n)
	}
	if code, _ := do(t, h, http.MethodPost, "/v1/route", `{"prompt":"what is 3 plus 4"}`); code != http.StatusServiceUnavailable {
		t.Errorf("a request after Close: status %d, want 503", code)
	}
}

// TestSetSameRouteTwice keeps a route that is Set again as it is: its
// encoder is not closed and requests holding it are not disturbed.
func TestSetSameRouteTwice(t *testing.T) {
	l, e := withCountingEncoder(testArtifact(t))
	s := New(Config{}, nil)
	rt := &Route{Name: "knn", Version: "v1", Loaded: l}
	s.Set(rt, true)
	s.Set(rt, true)
	if code, body := do(t, s.Handler(), http.MethodPost, "/v1/route", `{"prompt":"what is 3 plus 4"}`); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if n := e.closed.Load(); n != 0 {
		t.Errorf("encoder closed %d times while served", n)
	}
	s.Close()
	if n := e.closed.Load(); n != 1 {
		t.Errorf("encoder closed %d times after Close, want 1", n)
	}
}
