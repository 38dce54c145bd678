package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestONNXFlagsUsage: the commands that open an artifact's encoder take
// the ONNX Runtime flags, and refuse negative values before any work.
func TestONNXFlagsUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("artifact: a\nonnx:\n  sessions: -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"route", "--artifact", dir, "--onnx-sessions", "-1", "hello"}, exitUsage, "--onnx-sessions: -1 is negative"},
		{[]string{"route", "--artifact", dir, "--onnx-batch", "-3", "hello"}, exitUsage, "--onnx-batch: -3 is negative"},
		{[]string{"irt", "add-model", "--artifact", dir, "--answers", "a", "--model", "m", "--out", "o", "--onnx-threads", "-2"}, exitUsage, "--onnx-threads: -2 is negative"},
		{[]string{"serve", "--artifact", dir, "--onnx-threads", "-2"}, exitUsage, "onnx.intra_op_threads: -2 is negative"},
		{[]string{"serve", "--config", cfg}, exitError, "onnx.sessions: -1 is negative"},
		{[]string{"route", "--artifact", dir, "--onnx-sesions", "1", "hello"}, exitUsage, "onnx-sesions"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

// TestONNXFlagsRun routes and serves an artifact with an ONNX encoder
// with the ONNX Runtime options set by flags and by serve's config file.
func TestONNXFlagsRun(t *testing.T) {
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the ONNX flags test")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "o.jsonl")
	var b strings.Builder
	words := strings.Fields("the what how please write explain code python function sort list data story poem email city weather")
	for i := range 60 {
		p := fmt.Sprintf("%s %s %s %d", words[i%len(words)], words[(i*7+3)%len(words)], words[(i*5+1)%len(words)], i)
		fmt.Fprintf(&b, `{"prompt":%q,"model":"cheap","score":%d,"cost":0.0001}`+"\n", p, i%2)
		fmt.Fprintf(&b, `{"prompt":%q,"model":"big","score":1,"cost":0.01}`+"\n", p)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("..", "..", "models", "encoder", "testdata", "tinybert")
	art := filepath.Join(dir, "knn")
	mustRun(t, "train", "--router", "knn", "--data", in, "--encoder", "onnx:"+model, "--ort-lib", lib, "--out", art)

	got := mustRun(t, "route", "--artifact", art, "--ort-lib", lib, "--onnx-sessions", "1", "--onnx-threads", "2", "--onnx-batch", "4",
		"please write a poem", "explain the python code")
	if strings.Count(got, "-> ") != 2 {
		t.Errorf("route printed %q, want two decisions", got)
	}
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte("artifact: knn\nonnx:\n  sessions: 1\n  intra_op_threads: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, "--config", cfg, "--ort-lib", lib, "--onnx-threads", "2")
	if r := routeOnce(t, base, `{"prompt":"please write a poem"}`); r.Router != "knn" || len(r.Scores) != 2 {
		t.Errorf("route: %+v", r)
	}
	if code := stop(); code != exitOK {
		t.Errorf("serve exited with %d", code)
	}
}
