package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve"
)

// routeServer serves a small kNN artifact with the real route handler.
func routeServer(t *testing.T) *httptest.Server {
	t.Helper()
	l, err := artifact.Load(context.Background(), artifacttest.KNN(t, nil), encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := serve.New(serve.Config{}, nil)
	s.Set(&serve.Route{Name: "knn", Version: "1", Loaded: l}, true)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadgenOpenLoopTable(t *testing.T) {
	srv := routeServer(t)
	prompts := filepath.Join(t.TempDir(), "prompts.txt")
	if err := os.WriteFile(prompts, []byte("what is 3 plus 4\nwrite a python function that sorts a list\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// 200 requests/s for 0.3 s: 60 requests, all answered.
	out := mustRun(t, "loadgen", "--url", srv.URL+"/v1/route", "--rate", "200", "--duration", "300ms",
		"--warmup", "0s", "--prompts", prompts, "--fail-on-error")
	for _, want := range []string{"open loop at 200 req/s", "2 prompts", "60 sent, 60 ok, 0 errors", "latency", "server", "send lag", "service"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadgenMaxJSON(t *testing.T) {
	srv := routeServer(t)
	file := filepath.Join(t.TempDir(), "res.json")
	out := mustRun(t, "loadgen", "--url", srv.URL+"/v1/route", "--max", "--workers", "2", "--duration", "200ms",
		"--warmup", "50ms", "--json", "--out", file)
	saved, err := os.ReadFile(file)
	if err != nil || string(saved) != out {
		t.Fatalf("--out file differs from stdout (%v):\n%s\n%s", err, saved, out)
	}
	var res struct {
		URL         string           `json:"url"`
		Bodies      int              `json:"bodies"`
		Mode        string           `json:"mode"`
		Concurrency int              `json:"concurrency"`
		Sent        int64            `json:"sent"`
		OK          int64            `json:"ok"`
		Errors      int64            `json:"errors"`
		ErrorKinds  map[string]int64 `json:"error_kinds"`
		RPS         float64          `json:"rps"`
		Latency     map[string]float64
		Server      map[string]float64
		SendLag     map[string]float64 `json:"send_lag"`
		Service     map[string]float64 `json:"service"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if res.Mode != "closed" || res.Concurrency != 2 || res.Bodies != 1000 || !strings.HasSuffix(res.URL, "/v1/route") || res.Sent == 0 || res.Errors != 0 ||
		res.RPS <= 0 || res.Latency["count"] != float64(res.Sent) || res.Server["count"] != float64(res.Sent) ||
		res.Latency["p99_us"] < res.Latency["p50_us"] || res.SendLag != nil || res.Service != nil {
		t.Errorf("unexpected result:\n%s", out)
	}
}

func TestLoadgenFailOnError(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "{}", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"model":"m","latency_us":5}`))
	}))
	defer srv.Close()
	args := []string{"loadgen", "--url", srv.URL, "--rate", "200", "--duration", "250ms", "--warmup", "0s"}
	code, out, errs := runCLI(t, append(args, "--fail-on-error")...)
	if code != exitError || !strings.Contains(out, "50 sent, 45 ok, 5 errors") || !strings.Contains(out, "status 503: 5") ||
		!strings.Contains(errs, "5 of 50 requests failed") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, args...); code != exitOK {
		t.Errorf("without --fail-on-error: exit %d\n%s\n%s", code, out, errs)
	}
}

func TestLoadgenUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--rate", "0"}, exitUsage, "--rate 0"},
		{[]string{"--url", "localhost:8080"}, exitUsage, "want http://"},
		{[]string{"--duration", "0s"}, exitUsage, "must be positive"},
		{[]string{"extra"}, exitUsage, "unexpected arguments"},
		{[]string{"--prompts", filepath.Join(t.TempDir(), "missing.txt")}, exitError, "no such file"},
	} {
		code, _, errs := runCLI(t, append([]string{"loadgen"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("loadgen %v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}
