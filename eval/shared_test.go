package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/internal/sharedtest"
)

// TestSharedMMLURandom checks the metric code on RouteLLM's MMLU files:
// random routing averaged over 10 seeds gives APGR 0.5 +- 0.03, CPT(x)
// near x, and the strong model is GPT-4.
func TestSharedMMLURandom(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedtest.Dir(t), "routellm/mmlu/mmlu_*.csv"))
	if err != nil || len(files) != 57 {
		t.Fatalf("MMLU files: %d, %v", len(files), err)
	}
	ds, _, err := data.ReadFiles(context.Background(), files, data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const strongName, weakName = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
	byPrompt := map[string]*[2]float64{}
	var order []string
	for _, o := range ds.Outcomes {
		p := byPrompt[o.PromptID]
		if p == nil {
			p = &[2]float64{math.NaN(), math.NaN()}
			byPrompt[o.PromptID] = p
			order = append(order, o.PromptID)
		}
		switch o.Model {
		case strongName:
			p[0] = o.Score
		case weakName:
			p[1] = o.Score
		}
	}
	var strong, weak []float64
	for _, id := range order {
		strong, weak = append(strong, byPrompt[id][0]), append(weak, byPrompt[id][1])
	}
	rr, err := RandomTwoModel(strong, weak, 10, rand.New(rand.NewPCG(1, 2)), DefaultTwoModelConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MMLU (%d prompts): strong %.4f, weak %.4f, random APGR %.4f, CPT50 %.3f", len(strong), mean(strong), mean(weak), rr.APGR, rr.CPT50)
	if mean(strong) <= mean(weak) {
		t.Errorf("GPT-4 %.4f is not above Mixtral %.4f", mean(strong), mean(weak))
	}
	// The tolerance: 0.5 +- 0.03.
	if math.Abs(rr.APGR-0.5) > 0.03 {
		t.Errorf("random APGR %.4f, want 0.5 +- 0.03", rr.APGR)
	}
	if math.Abs(rr.CPT50-0.5) > 0.06 {
		t.Errorf("random CPT(50%%) %.3f, want about 0.5", rr.CPT50)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
