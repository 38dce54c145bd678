package artifact_test

import (
	"context"
	"errors"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"math"
	"testing"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

func TestLoadAndRoute(t *testing.T) {
	ctx := context.Background()
	l, err := artifact.Load(ctx, artifacttest.KNN(t, nil), encoder.ONNXConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Route(ctx, "what is five plus six", models.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Model != "cheap" {
		t.Errorf("arithmetic went to %s (scores %v), want cheap", d.Model, d.Scores)
	}
	d, err = l.Route(ctx, "write a poem about the moon", models.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Model != "big" || math.IsNaN(d.Scores["cheap"]) {
		t.Errorf("a poem went to %s (scores %v), want big", d.Model, d.Scores)
	}
}

func TestLoadRefuses(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		mutate func(*artifact.Manifest, map[string][]byte)
		want   error
	}{
		{"unknown router kind", func(m *artifact.Manifest, _ map[string][]byte) { m.Router = "bert-xl" }, artifact.ErrFormat},
		{"other encoder", func(m *artifact.Manifest, _ map[string][]byte) { m.Encoder.Digest = "0000" }, artifact.ErrEncoderMismatch},
		{"models differ", func(m *artifact.Manifest, _ map[string][]byte) { m.Models[1].Name = "tiny" }, artifact.ErrCorrupt},
		{"no encoder", func(m *artifact.Manifest, b map[string][]byte) { m.EncoderBlob = ""; delete(b, "encoder.bin") }, artifact.ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := artifact.Load(ctx, artifacttest.KNN(t, c.mutate), encoder.ONNXConfig{})
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}
