package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineBuffer is a bytes.Buffer safe for one writer and one reader.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestDevFakeUpstream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lineBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "fake-upstream", "--addr", "127.0.0.1:0", "--chunk-delay", "0s"}, &stdout, &stderr)
	}()
	urlRE := regexp.MustCompile(`http://\S+/v1`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		base = urlRE.FindString(stdout.String())
	}
	if base == "" {
		t.Fatalf("no URL printed; stderr: %s", stderr.String())
	}
	resp, err := http.Post(base+"/chat/completions", "application/json",
		strings.NewReader(`{"model": "m", "messages": [{"role": "user", "content": "hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "[fake m] you said: hi") {
		t.Errorf("answer %d %s", resp.StatusCode, b)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit code %d after cancel; stderr: %s", code, stderr.String())
	}
	t.Setenv("ROUTEKIT_TEST_NO_SUCH_KEY", "")
	var errOut lineBuffer
	if code := run(context.Background(), []string{"dev", "fake-upstream", "--api-key-env", "ROUTEKIT_TEST_NO_SUCH_KEY"}, io.Discard, &errOut); code == exitOK ||
		!strings.Contains(errOut.String(), "ROUTEKIT_TEST_NO_SUCH_KEY is not set") {
		t.Errorf("missing key: exit %d, stderr %s", code, errOut.String())
	}
}
