package artifact

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// knnArtifact writes a small kNN artifact with a fitted built-in encoder.
func knnArtifact(t *testing.T, mutate func(*Manifest, map[string][]byte)) string {
	t.Helper()
	ctx := context.Background()
	// Ten arithmetic questions (which "cheap" answers), ten code and ten
	// poetry requests (which only "big" answers).
	var texts []string
	for i := 0; i < 10; i++ {
		texts = append(texts, fmt.Sprintf("what is %d plus %d", i, 2*i+1))
	}
	for i := 0; i < 10; i++ {
		texts = append(texts, fmt.Sprintf("write a python function that reverses list number %d", i))
	}
	for i := 0; i < 10; i++ {
		texts = append(texts, fmt.Sprintf("compose a poem about the sea and the moon, verse %d", i))
	}
	enc, err := encoder.FitBuiltin(ctx, texts, encoder.BuiltinConfig{Dim: 16, MinDF: 1})
	if err != nil {
		t.Fatal(err)
	}
	emb, err := enc.Encode(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	// "cheap" answers arithmetic only; "big" answers everything.
	scores := make([][]float64, len(texts))
	for i := range scores {
		cheap := 0.0
		if i < 10 {
			cheap = 1
		}
		scores[i] = []float64{1, cheap}
	}
	knn, err := models.NewKNN([]string{"big", "cheap"}, emb, scores, models.KNNConfig{K: 3})
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := knn.MarshalBinary()
	eb, _ := enc.MarshalBinary()
	m := Manifest{Router: "knn", Created: time.Now().UTC(), Models: []Model{{"big", 0.01}, {"cheap", 0.0001}},
		Encoder: enc.Identity(), EncoderBlob: "encoder.bin", ScorerBlob: "scorer.bin",
		Policy: models.Policy{Kind: models.PolicyUtility, Lambda: 20}}
	blobs := map[string][]byte{"scorer.bin": sb, "encoder.bin": eb}
	if mutate != nil {
		mutate(&m, blobs)
	}
	dir := filepath.Join(t.TempDir(), "knn")
	if err := Write(dir, m, blobs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadAndRoute(t *testing.T) {
	ctx := context.Background()
	l, err := Load(ctx, knnArtifact(t, nil), encoder.ONNXConfig{})
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
		mutate func(*Manifest, map[string][]byte)
		want   error
	}{
		{"unknown router kind", func(m *Manifest, _ map[string][]byte) { m.Router = "bert-xl" }, ErrFormat},
		{"other encoder", func(m *Manifest, _ map[string][]byte) { m.Encoder.Digest = "0000" }, ErrEncoderMismatch},
		{"models differ", func(m *Manifest, _ map[string][]byte) { m.Models[1].Name = "tiny" }, ErrCorrupt},
		{"no encoder", func(m *Manifest, b map[string][]byte) { m.EncoderBlob = ""; delete(b, "encoder.bin") }, ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(ctx, knnArtifact(t, c.mutate), encoder.ONNXConfig{})
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}
