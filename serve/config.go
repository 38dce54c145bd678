package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// LoadConfig reads a YAML config file over DefaultConfig. Decoding is
// strict: an unknown key is an error naming it and its line, and so is a
// second YAML document. Durations are Go durations ("2s", "500ms").
// Relative paths (registry, artifact, proxy.catalog, decision_log.path)
// are resolved against the file's directory. The environment is not
// read: the command resolves AdminTokenEnv (and the proxy's API keys).
// An empty file gives the defaults.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config: %w", err)
	}
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return Config{}, fmt.Errorf("config %s: line %d: more than one YAML document", path, extra.Line)
	case !errors.Is(err, io.EOF):
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&cfg.Registry, &cfg.Artifact, &cfg.Proxy.Catalog, &cfg.DecisionLog.Path} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports the first invalid field by its YAML key. Zero values
// are valid (they mean the defaults).
func (c Config) Validate() error {
	switch {
	case c.Registry != "" && c.Artifact != "":
		return errors.New("registry, artifact: give one, not both")
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("max_body_bytes: %d is negative", c.MaxBodyBytes)
	case c.MaxBatch < 0:
		return fmt.Errorf("max_batch: %d is negative", c.MaxBatch)
	case c.RequestTimeout < 0:
		return fmt.Errorf("request_timeout: %s is negative", c.RequestTimeout)
	case c.ONNX.Sessions < 0:
		return fmt.Errorf("onnx.sessions: %d is negative", c.ONNX.Sessions)
	case c.ONNX.IntraOpThreads < 0:
		return fmt.Errorf("onnx.intra_op_threads: %d is negative", c.ONNX.IntraOpThreads)
	}
	return nil
}

// ONNXConfig says how the ONNX encoders of served artifacts run: the
// runtime options of encoder.ONNXConfig that do not change the vectors.
// Zero values mean the encoder's defaults (one session per core, one
// intra-op thread per session).
type ONNXConfig struct {
	// Sessions is the number of ONNX Runtime sessions of each encoder: how
	// many requests are encoded at the same time.
	Sessions int `yaml:"sessions"`
	// IntraOpThreads is the number of threads of one session run.
	IntraOpThreads int `yaml:"intra_op_threads"`
}
