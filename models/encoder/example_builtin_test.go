package encoder_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/routekit/routekit/data/synth"
	"github.com/routekit/routekit/models/encoder"
)

// Fit the built-in encoder on training prompts, encode new prompts, and
// save it beside a router artifact.
func ExampleFitBuiltin() {
	ctx := context.Background()
	w, err := synth.Generate(synth.Config{Prompts: 1000, Models: 2, Battles: 1})
	if err != nil {
		log.Fatal(err)
	}
	prompts := make([]string, len(w.Prompts))
	for i, p := range w.Prompts {
		prompts[i] = p.Text
	}

	// Zero fields take their defaults; Dim 64 keeps the example small.
	enc, err := encoder.FitBuiltin(ctx, prompts, encoder.BuiltinConfig{Dim: 64})
	if err != nil {
		log.Fatal(err)
	}
	vecs, err := enc.Encode(ctx, []string{
		"Write a Python function that checks whether a number is prime.",
		"Write a Java function that checks whether a word is a palindrome.",
		"Translate into French: \"The museum opens at nine.\"",
	})
	if err != nil {
		log.Fatal(err)
	}
	cos := func(a, b []float32) (s float32) {
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	fmt.Println("dim:", enc.Dim(), "vectors:", len(vecs))
	fmt.Printf("unit norm: %.3f\n", cos(vecs[0], vecs[0]))
	fmt.Println("code closer to code than to translation:", cos(vecs[0], vecs[1]) > cos(vecs[0], vecs[2]))
	id := enc.Identity()
	fmt.Println("kind:", id.Kind, "dim:", id.Params["dim"], "word n-grams:", id.Params["word_ngrams"])

	dir, err := os.MkdirTemp("", "routekit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "router.encoder")
	if err := encoder.SaveBuiltin(path, enc); err != nil {
		log.Fatal(err)
	}
	loaded, err := encoder.LoadBuiltin(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same encoder after loading:", loaded.Identity().Equal(id))
	// Output:
	// dim: 64 vectors: 3
	// unit norm: 1.000
	// code closer to code than to translation: true
	// kind: builtin dim: 64 word n-grams: 1-2
	// same encoder after loading: true
}
