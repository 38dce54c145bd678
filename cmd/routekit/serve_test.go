package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
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

// startServe runs routekit serve in-process until the test ends and
// returns its base URL, and a stop function returning the exit code.
func startServe(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := lineWriter{make(chan string, 64)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), out, io.Discard)
	}()
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			done <- code
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	for {
		select {
		case line := <-out.lines:
			if i := strings.Index(line, "http://"); i >= 0 {
				return strings.Fields(line[i:])[0], stop
			}
		case code := <-done:
			t.Fatalf("serve exited with %d", code)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not start")
		}
	}
}

func routeOnce(t *testing.T, base, body string) api.RouteResponse {
	t.Helper()
	resp, err := http.Post(base+"/v1/route", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r api.RouteResponse
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("route: %d %v", resp.StatusCode, err)
	}
	return r
}

func TestServeRoutesAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	world := filepath.Join(dir, "world")
	mustRun(t, "data", "synth", "--seed", "11", "--models", "3", "--prompts", "500", "--battles", "0", "--out-dir", world)
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", filepath.Join(world, "outcomes.parquet"), "--dim", "16", "--out", art)

	base, stop := startServe(t, "--artifact", art)
	if r := routeOnce(t, base, `{"prompt":"What is 12 plus 30?"}`); r.Router != "knn" || len(r.Scores) != 3 {
		t.Errorf("route: %+v", r)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exited with %d after shutdown", code)
	}
}

// TestServeRegistry serves a registry from a config file: the admin
// token comes from the environment variable the file names, an admin
// reload serves a promoted version, and /metrics answers.
func TestServeRegistry(t *testing.T) {
	dir := t.TempDir()
	reg, err := artifact.OpenRegistry(filepath.Join(dir, "routers"))
	if err != nil {
		t.Fatal(err)
	}
	m, blobs, err := artifact.Read(artifacttest.KNN(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Add("knn", *m, blobs); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("registry: routers\nwatch_interval: -1s\nadmin_token_env: TEST_ROUTEKIT_TOKEN\naddr: \":1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_ROUTEKIT_TOKEN", "t0ken")
	dlog := filepath.Join(dir, "decisions.jsonl")
	base, stop := startServe(t, "--config", cfg, "--decision-log", dlog) // --addr wins over the file's
	if r := routeOnce(t, base, `{"prompt":"what is 4 plus 9"}`); r.Router != "knn" || r.Version != "v1" || r.Model != "cheap" {
		t.Errorf("route: %+v", r)
	}

	v2, err := reg.Add("knn", *m, blobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Promote("knn", v2.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token string
		code  int
	}{{"", 401}, {"wrong", 401}, {"t0ken", 200}} {
		req, _ := http.NewRequest("POST", base+"/admin/reload", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("admin reload with token %q: %d, want %d", c.token, resp.StatusCode, c.code)
		}
	}
	if r := routeOnce(t, base, `{"prompt":"what is 4 plus 9"}`); r.Version != "v2" {
		t.Errorf("after the admin reload: %+v", r)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `routekit_router_info{kind="knn",router="knn",version="v2"} 1`) {
		t.Errorf("/metrics: %d\n%s", resp.StatusCode, b)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exited with %d after shutdown", code)
	}
	// The shutdown flushed the decision log: one line per decision.
	b, err = os.ReadFile(dlog)
	if n := strings.Count(string(b), "\n"); err != nil || n != 2 {
		t.Errorf("decision log after shutdown: %d lines, %v", n, err)
	}
}

func TestServeErrors(t *testing.T) {
	dir := t.TempDir()
	reg, err := artifact.OpenRegistry(filepath.Join(dir, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	m, blobs, err := artifact.Read(artifacttest.KNN(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	good, err := artifact.OpenRegistry(filepath.Join(dir, "good"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Add("knn", *m, blobs); err != nil {
		t.Fatal(err)
	}
	m.Encoder.Digest = strings.Repeat("0", 64) // another encoder: reads, does not load
	if _, err := reg.Add("knn", *m, blobs); err != nil {
		t.Fatal(err)
	}
	badCfg := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badCfg, []byte("registry: bad\nwatch_intervall: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no source", nil, exitUsage, "--registry"},
		{"two sources", []string{"--registry", dir, "--artifact", dir}, exitUsage, "not both"},
		{"unknown config key", []string{"--config", badCfg}, exitError, "line 2: field watch_intervall not found"},
		{"no router loads", []string{"--registry", filepath.Join(dir, "bad")}, exitError, "no router loads"},
		{"empty registry", []string{"--registry", dir}, exitError, "no router with a CURRENT version"},
		{"missing default", []string{"--registry", filepath.Join(dir, "good"), "--default", "mf"}, exitError, "default router mf: not served (serving knn)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCLI(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, c.args...)...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, want %d; stderr %s", code, c.code, errs)
			}
		})
	}
}
