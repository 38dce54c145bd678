package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfig(t *testing.T) {
	p := writeConfig(t, `# a full config
addr: "127.0.0.1:9000"
registry: routers          # relative to the file
default_router: mf
watch_interval: 500ms
admin_token_env: MY_TOKEN
max_body_bytes: 4096
max_batch: 16
request_timeout: 1m30s
onnx:
  sessions: 3
  intra_op_threads: 2
`)
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Addr, want.Registry, want.DefaultRouter = "127.0.0.1:9000", filepath.Join(filepath.Dir(p), "routers"), "mf"
	want.WatchInterval, want.AdminTokenEnv = 500*time.Millisecond, "MY_TOKEN"
	want.MaxBodyBytes, want.MaxBatch, want.RequestTimeout = 4096, 16, 90*time.Second
	if cfg.Addr != want.Addr || cfg.Registry != want.Registry || cfg.DefaultRouter != want.DefaultRouter ||
		cfg.WatchInterval != want.WatchInterval || cfg.AdminTokenEnv != want.AdminTokenEnv ||
		cfg.MaxBodyBytes != want.MaxBodyBytes || cfg.MaxBatch != want.MaxBatch || cfg.RequestTimeout != want.RequestTimeout {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
	if cfg.ONNX != (ONNXConfig{Sessions: 3, IntraOpThreads: 2}) {
		t.Errorf("onnx: got %+v, want sessions 3, intra_op_threads 2", cfg.ONNX)
	}

	// Omitted keys keep the defaults; an empty file is all defaults.
	for _, text := range []string{"", "artifact: /srv/a\n"} {
		cfg, err := LoadConfig(writeConfig(t, text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		d := DefaultConfig()
		if cfg.WatchInterval != d.WatchInterval || cfg.MaxBodyBytes != d.MaxBodyBytes || cfg.RequestTimeout != d.RequestTimeout ||
			cfg.Addr != d.Addr || cfg.AdminTokenEnv != d.AdminTokenEnv {
			t.Errorf("%q: defaults lost: %+v", text, cfg)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"unknown key", "addr: :8080\nwatch_intervall: 2s\n", "line 2: field watch_intervall not found"},
		{"bad duration", "request_timeout: soon\n", "line 1"},
		{"number as duration", "watch_interval: 2\n", "line 1"},
		{"negative", "max_batch: -1\n", "max_batch: -1 is negative"},
		{"negative onnx sessions", "onnx:\n  sessions: -2\n", "onnx.sessions: -2 is negative"},
		{"unknown onnx key", "onnx:\n  threads: 2\n", "line 2: field threads not found"},
		{"both sources", "registry: r\nartifact: a\n", "registry, artifact: give one"},
		{"two documents", "addr: :1\n---\naddr: :2\n", "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", "line 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeConfig(t, c.text)
			_, err := LoadConfig(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and %q", err, p, c.want)
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}
