package serve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve/fakeupstream"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// server, reloader watch, decision-log flusher or proxy connection that a
// stopped server (Serve returned, Close called) leaves behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestStoppedServerLeavesNoGoroutine runs everything a served registry
// starts (the CURRENT watch, the decision-log flusher, the proxy's
// upstream connections, the HTTP server and its connections), with a
// proxied stream still open when the shutdown grace ends, then stops it
// the way the command does. Nothing the test started may be left: the
// cut stream's upstream request must be canceled too.
func TestStoppedServerLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	hold := make(chan struct{}) // never released: the stream outlasts the grace
	up := httptest.NewUnstartedServer(&fakeupstream.Server{Hold: hold})
	var mu sync.Mutex
	upConns := map[net.Conn]bool{} // the upstream's open connections
	up.Config.ConnState = func(c net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if st == http.StateClosed || st == http.StateHijacked {
			delete(upConns, c)
		} else {
			upConns[c] = true
		}
	}
	up.Start()
	upClosed := false
	defer func() {
		if !upClosed { // a failed test: unblock the upstream so it can close
			close(hold)
			up.Close()
		}
	}()

	reg := newRegistry(t)
	addVersion(t, reg, "knn")
	s := New(Config{WatchInterval: 5 * time.Millisecond,
		Proxy:       ProxyConfig{DefaultUpstream: &data.Upstream{BaseURL: up.URL + "/v1"}},
		DecisionLog: DecisionLogConfig{Path: filepath.Join(t.TempDir(), "decisions.jsonl"), FlushInterval: time.Millisecond}}, nil)
	rl := NewReloader(s, reg, loadArtifact)
	if _, err := rl.Reload(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() { rl.Watch(wctx); close(watchDone) }()
	// The grace is short and the stream never ends: Serve must cut it.
	base, client, stop := startServer(t, s, 20*time.Millisecond)

	if _, err := postRoute(client, base, `{"prompt":"what is 2 plus 2"}`); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model":"router-knn","stream":true,"messages":[{"role":"user","content":"compose a poem about the sea"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("stream: status %d, first line %q: %v", resp.StatusCode, line, err)
	}
	// While the stream holds one upstream connection, a complete answer
	// leaves the proxy another, idle.
	ans, err := client.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"model":"router-knn","messages":[{"role":"user","content":"what is 2 plus 2"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(ans.Body); err != nil || ans.StatusCode != http.StatusOK {
		t.Fatalf("chat completion: %d %s %v", ans.StatusCode, b, err)
	}
	ans.Body.Close()

	if err := stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	if _, err := io.Copy(io.Discard, br); err == nil {
		// A cut chunked stream ends in an unexpected EOF, not a clean one.
		t.Error("the stream ended cleanly; want it cut by the shutdown")
	}
	resp.Body.Close()
	stopWatch()
	<-watchDone
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// The cut stream's upstream connection is gone with its request, and
	// Close drops the idle one: the upstream, still serving, sees every
	// connection closed.
	waitFor(t, "the proxy's upstream connections to close", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(upConns) == 0
	})
	// httptest.Server.Close waits for the upstream's handlers: it returns
	// only once the proxy has canceled the stalled upstream request.
	closed := make(chan struct{})
	go func() { up.Close(); close(closed) }()
	select {
	case <-closed:
		upClosed = true
	case <-time.After(waitLimit):
		t.Fatal("the upstream request of the cut stream was not canceled")
	}
	client.Transport.(*http.Transport).CloseIdleConnections()
}

// TestServeErrorLeavesNoGoroutine makes the listener fail under a server
// that has a kept-alive connection: Serve returns the error, and the
// server it ran must not go on serving that connection.
func TestServeErrorLeavesNoGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := New(Config{}, nil)
	s.Set(&Route{Name: "knn", Version: "v1", Loaded: testArtifact(t)}, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background(), ln, time.Second) }() // its context never ends
	tr := &http.Transport{}
	// After the check: closing the client's connections first would end
	// the server's side of them too, hiding a server that kept them.
	t.Cleanup(tr.CloseIdleConnections)
	if _, err := postRoute(&http.Client{Transport: tr}, "http://"+ln.Addr().String(), `{"prompt":"what is 2 plus 2"}`); err != nil {
		t.Fatal(err)
	}
	ln.Close() // Accept fails: not a shutdown
	select {
	case err := <-errc:
		if err == nil || !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve: %v, want the listener's error", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Serve did not return when its listener failed")
	}
}

// closingEncoder records Close; with fail set, Encode fails.
type closingEncoder struct {
	encoder.Encoder
	fail   bool
	closed atomic.Bool
}

func (e *closingEncoder) Encode(ctx context.Context, texts []string) ([][]float32, error) {
	if e.fail {
		return nil, errors.New("the encoder is broken")
	}
	return e.Encoder.Encode(ctx, texts)
}

func (e *closingEncoder) Close() error { e.closed.Store(true); return nil }

// TestRefusedVersionReleasesItsEncoder: a version that loads but fails
// the smoke check never serves, so its encoder (ONNX Runtime sessions,
// for an ONNX one) is closed; a version that serves keeps its encoder open.
func TestRefusedVersionReleasesItsEncoder(t *testing.T) {
	reg := newRegistry(t)
	addVersion(t, reg, "good")
	addVersion(t, reg, "bad")
	encs := map[string]*closingEncoder{}
	load := func(ctx context.Context, dir string) (*artifact.Loaded, error) {
		l, err := loadArtifact(ctx, dir)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(filepath.Dir(dir)) // <registry>/<name>/<version>
		e := &closingEncoder{Encoder: l.Encoder, fail: name == "bad"}
		encs[name] = e
		l.Encoder = e
		return l, nil
	}
	s := New(Config{}, nil)
	res, err := NewReloader(s, reg, load).Reload(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	got := results(res)
	if got["bad"].Result != ReloadFailed || got["good"].Result != ReloadLoaded {
		t.Fatalf("reload results %+v: want bad failed, good loaded", res)
	}
	if e := encs["bad"]; e == nil || !e.closed.Load() {
		t.Error("the refused version's encoder was not closed")
	}
	if e := encs["good"]; e == nil || e.closed.Load() {
		t.Error("the serving version's encoder was closed (or never loaded)")
	}
}
