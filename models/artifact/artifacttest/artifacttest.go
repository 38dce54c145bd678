// Package artifacttest builds small real artifacts for tests of the
// packages that load and serve them. It is for tests only.
package artifacttest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

// KNN writes a small kNN artifact with a fitted built-in encoder (dim 16)
// over ten arithmetic questions, ten code requests and ten poems: model
// "cheap" ($0.0001) answers the arithmetic only, "big" ($0.01)
// everything; the policy is utility with lambda 20. mutate, when not nil,
// may change the manifest and blobs before they are written. It returns
// the artifact's directory.
func KNN(t testing.TB, mutate func(*artifact.Manifest, map[string][]byte)) string {
	t.Helper()
	ctx := context.Background()
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
	sb, err := knn.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	eb, err := enc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m := artifact.Manifest{Router: "knn", Created: time.Now().UTC(),
		Models:  []artifact.Model{{Name: "big", Cost: 0.01}, {Name: "cheap", Cost: 0.0001}},
		Encoder: enc.Identity(), EncoderBlob: "encoder.bin", ScorerBlob: "scorer.bin",
		Policy: models.Policy{Kind: models.PolicyUtility, Lambda: 20}}
	blobs := map[string][]byte{"scorer.bin": sb, "encoder.bin": eb}
	if mutate != nil {
		mutate(&m, blobs)
	}
	dir := filepath.Join(t.TempDir(), "knn")
	if err := artifact.Write(dir, m, blobs); err != nil {
		t.Fatal(err)
	}
	return dir
}
