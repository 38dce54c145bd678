package irt

import (
	"hash/fnv"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/routekit/routekit/data/synth"
)

// testD is the dimension of the test-local text featurisation.
const testD = 256

// hashEmbed is a test-local stand-in for an encoder (irt may not import
// the encoder package): a signed hashed bag of lower-cased words and word
// bigrams (numbers replaced by their digit count), plus a token for the
// length of the text, L2-normalised.
func hashEmbed(text string, d int) []float32 {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for i, w := range words {
		if w[0] >= '0' && w[0] <= '9' {
			words[i] = "<num" + string(rune('0'+min(len(w), 9))) + ">"
		}
	}
	v := make([]float64, d)
	add := func(tok string, wt float64) {
		h := fnv.New64a()
		h.Write([]byte(tok))
		x := h.Sum64()
		s := 1.0
		if x>>63 == 1 {
			s = -1
		}
		v[x%uint64(d)] += s * wt
	}
	for i, w := range words {
		add(w, 1)
		if i > 0 {
			add(words[i-1]+" "+w, 0.7)
		}
	}
	add("<len"+string(rune('0'+min(int(math.Log2(float64(len(words)+1))), 12)))+">", 2)
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	norm = math.Sqrt(norm)
	out := make([]float32, d)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// testWorld is a synthetic world in the form Fit takes.
type testWorld struct {
	w      *synth.World
	emb    [][]float32
	models []string
	resp   []Response
	diff   []float64 // true difficulty by prompt index (= index in w.Prompts)
}

var (
	worldOnce sync.Once
	world     *testWorld
	worldErr  error
)

// getWorld returns the shared 12-model, 3000-prompt world.
func getWorld(t testing.TB) *testWorld {
	t.Helper()
	worldOnce.Do(func() {
		world, worldErr = makeWorld(synth.Config{Seed: 1, Models: 12, Prompts: 3000, Battles: 1})
	})
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return world
}

func makeWorld(cfg synth.Config) (*testWorld, error) {
	w, err := synth.Generate(cfg)
	if err != nil {
		return nil, err
	}
	tw := &testWorld{w: w}
	idx := make(map[string]int, len(w.Prompts))
	for i, p := range w.Prompts {
		idx[p.ID] = i
		tw.emb = append(tw.emb, hashEmbed(p.Text, testD))
		tw.diff = append(tw.diff, w.Truth.Prompts[p.ID].Difficulty)
	}
	midx := make(map[string]int)
	for i, m := range w.Truth.Models {
		midx[m.Name] = i
		tw.models = append(tw.models, m.Name)
	}
	for _, o := range w.Outcomes {
		tw.resp = append(tw.resp, Response{Prompt: idx[o.PromptID], Model: midx[o.Model], Score: o.Score})
	}
	return tw, nil
}
