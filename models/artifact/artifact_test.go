package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

func sample() Manifest {
	return Manifest{
		Router:     "knn",
		Created:    time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Models:     []Model{{"small", 0.001}, {"large", 0.02}},
		Encoder:    encoder.Identity{Kind: "builtin", Params: map[string]string{"dim": "64"}, Digest: "ab"},
		ScorerBlob: "scorer.bin",
		Policy:     models.Policy{Kind: models.PolicyUtility, Lambda: 10},
		Validation: map[string]float64{"brier": 0.13},
	}
}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "v1")
	blobs := map[string][]byte{"scorer.bin": []byte("weights"), "encoder.bin": []byte("enc")}
	if err := Write(dir, sample(), blobs); err != nil {
		t.Fatal(err)
	}
	m, got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.FormatVersion != FormatVersion || m.Router != "knn" || len(m.Blobs) != 2 || string(got["scorer.bin"]) != "weights" {
		t.Errorf("read back %+v, %v", m, got)
	}
	if !m.Encoder.Equal(sample().Encoder) || m.Policy != sample().Policy {
		t.Errorf("encoder or policy changed: %+v", m)
	}
	if err := Write(dir, sample(), blobs); err == nil {
		t.Error("overwrote an existing artifact")
	}
	// No temporary folder is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("%d entries beside the artifact, want 1", len(entries))
	}
}

func TestReadRefuses(t *testing.T) {
	write := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "v1")
		if err := Write(dir, sample(), map[string][]byte{"scorer.bin": []byte("weights")}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, c := range []struct {
		name   string
		break_ func(dir string)
		want   error
		msg    string
	}{
		{"changed blob", func(d string) { os.WriteFile(filepath.Join(d, "scorer.bin"), []byte("weightz"), 0o644) }, ErrCorrupt, "sha256"},
		{"missing blob", func(d string) { os.Remove(filepath.Join(d, "scorer.bin")) }, ErrCorrupt, "scorer.bin"},
		{"newer format", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, ManifestFile))
			os.WriteFile(filepath.Join(d, ManifestFile), []byte(strings.Replace(string(b), `"format_version": 1`, `"format_version": 2`, 1)), 0o644)
		}, ErrFormat, "format version 2"},
		{"bad json", func(d string) { os.WriteFile(filepath.Join(d, ManifestFile), []byte("{"), 0o644) }, ErrCorrupt, "manifest.json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t)
			c.break_(dir)
			_, _, err := Read(dir)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %v, want %v mentioning %q", err, c.want, c.msg)
			}
		})
	}
	if err := Write(filepath.Join(t.TempDir(), "x"), sample(), map[string][]byte{"../evil": nil}); err == nil {
		t.Error("a blob name with a path was accepted")
	}
}
