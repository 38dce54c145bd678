package loadgen

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them: a
// worker, the open loop's scheduler or a keep-alive connection of the
// run's own transport still running after Run returned.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRunLeavesNoGoroutine checks, while the server is still up (so that
// its closing connections cannot hide a client that kept them), that a
// closed loop, an open loop and a canceled run leave no goroutine: no
// worker, and no keep-alive connection of the transport Run made, on
// either side.
func TestRunLeavesNoGoroutine(t *testing.T) {
	srv := httptest.NewServer(&counting{serverUS: 50})
	defer srv.Close()
	ignore := goleak.IgnoreCurrent() // the server's accept loop
	b := bodies(t)

	// A closed loop's workers may start after a short period on a busy
	// machine and send nothing; the open loop sends its 15 requests
	// however late.
	res, err := Run(context.Background(), Config{URL: srv.URL, Bodies: b, Concurrency: 4, Duration: 30 * time.Millisecond})
	if err != nil || res.Errors != 0 {
		t.Fatalf("closed loop: %+v, %v", res, err)
	}
	res, err = Run(context.Background(), Config{URL: srv.URL, Bodies: b, Rate: 500, Concurrency: 4, Duration: 30 * time.Millisecond})
	if err != nil || res.OK != 15 || res.Errors != 0 {
		t.Fatalf("open loop: %+v, %v; want 15 requests answered", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if res, err = Run(ctx, Config{URL: srv.URL, Bodies: b, Rate: 500, Duration: time.Hour}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("canceled run: %+v, %v; want the context's error", res, err)
	}
	goleak.VerifyNone(t, ignore)
}
