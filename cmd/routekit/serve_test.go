package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/routekit/routekit/serve/api"
)

// lineWriter hands each written line to a channel.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		w.lines <- sc.Text()
	}
	return len(p), nil
}

func TestServeRoutesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "11", "--models", "3", "--prompts", "500", "--battles", "0", "--out-dir", world)
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "16", "--out", art)

	ctx, cancel := context.WithCancel(context.Background())
	out := lineWriter{make(chan string, 16)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--artifact", art, "--addr", "127.0.0.1:0"}, out, io.Discard)
	}()
	var base string
	select {
	case line := <-out.lines:
		i := strings.Index(line, "http://")
		if i < 0 {
			t.Fatalf("no address in %q", line)
		}
		base = line[i:]
	case code := <-done:
		t.Fatalf("serve exited with %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Post(base+"/v1/route", "application/json", strings.NewReader(`{"prompt":"What is 12 plus 30?"}`))
	if err != nil {
		t.Fatal(err)
	}
	var r api.RouteResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || r.Router != "knn" || len(r.Scores) != 3 {
		t.Errorf("route: %d %+v %v", resp.StatusCode, r, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited with %d after shutdown", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}
