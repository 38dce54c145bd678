package models

import (
	"context"
	"errors"
	"math"
	"testing"
)

// fixedScorer scores by the embedding's first component: model i gets
// emb[0] * (i+1) / n, so larger models look better on harder prompts.
type fixedScorer struct{ models []string }

func (f fixedScorer) Models() []string { return f.models }
func (f fixedScorer) Score(emb []float32, dst []float64) {
	for i := range dst {
		dst[i] = float64(emb[0]) * float64(i+1) / float64(len(dst))
	}
}

func TestPolicyChoose(t *testing.T) {
	models := []string{"small", "medium", "large"}
	costs := []float64{0.001, 0.01, 0.1}
	for _, c := range []struct {
		name   string
		p      Policy
		scores []float64
		want   string
		err    error
	}{
		{"lambda 0 takes the best", Policy{Kind: PolicyUtility}, []float64{0.5, 0.7, 0.9}, "large", nil},
		{"lambda trades quality for cost", Policy{Kind: PolicyUtility, Lambda: 5}, []float64{0.5, 0.7, 0.9}, "medium", nil},
		{"a large lambda takes the cheapest", Policy{Kind: PolicyUtility, Lambda: 1000}, []float64{0.5, 0.7, 0.9}, "small", nil},
		{"ties go to the cheaper", Policy{Kind: PolicyUtility}, []float64{0.9, 0.9, 0.9}, "small", nil},
		{"max cost caps", Policy{Kind: PolicyUtility, MaxCost: 0.05}, []float64{0.5, 0.7, 0.9}, "medium", nil},
		{"nothing under max cost", Policy{Kind: PolicyUtility, MaxCost: 0.0001}, []float64{0.5, 0.7, 0.9}, "", ErrNoModel},
		// Win score (1 + 0.7 - 0.5) / 2 = 0.6.
		{"threshold met", Policy{Kind: PolicyThreshold, Strong: "large", Weak: "small", Threshold: 0.6}, []float64{0.5, 0, 0.7}, "large", nil},
		{"threshold missed", Policy{Kind: PolicyThreshold, Strong: "large", Weak: "small", Threshold: 0.6}, []float64{0.5, 0, 0.68}, "small", nil},
		// A strong score above the threshold is not enough: the weak model
		// is likelier to answer well, so the win score is 0.475.
		{"threshold compares the win score, not P(strong)", Policy{Kind: PolicyThreshold, Strong: "large", Weak: "small", Threshold: 0.5}, []float64{0.95, 0, 0.9}, "small", nil},
		{"equal scores win half", Policy{Kind: PolicyThreshold, Strong: "large", Weak: "small", Threshold: 0.5}, []float64{0.3, 0.9, 0.3}, "large", nil},
		{"the middle model is ignored", Policy{Kind: PolicyThreshold, Strong: "medium", Weak: "small", Threshold: 0.55}, []float64{0.2, 0.4, 1}, "medium", nil},
		{"max cost caps the strong model", Policy{Kind: PolicyThreshold, Strong: "large", Weak: "small", Threshold: 0.5, MaxCost: 0.05}, []float64{0.1, 0, 0.9}, "small", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Validate(models); err != nil {
				t.Fatal(err)
			}
			i, err := c.p.Choose(models, c.scores, costs)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err == nil && models[i] != c.want {
				t.Errorf("chose %s, want %s", models[i], c.want)
			}
		})
	}
}

func TestWinScore(t *testing.T) {
	for _, c := range []struct {
		scores []float64
		want   float64
	}{
		{[]float64{0.9, 0.2}, 0.85},
		{[]float64{0.2, 0.9}, 0.15},
		{[]float64{1, 0}, 1},
		{[]float64{0, 1}, 0},
		{[]float64{0.4, 0.4}, 0.5},
		// Independent correctness probabilities p, q: P(strong right, weak
		// wrong) + P(tie)/2 = p(1-q) + (pq + (1-p)(1-q))/2.
		{[]float64{0.7, 0.6}, 0.7*0.4 + (0.7*0.6+0.3*0.4)/2},
		// A 3-way head: weak score 1 - P(strong wins).
		{[]float64{0.35, 0.65}, 0.35},
	} {
		if got := WinScore(c.scores, 0, 1); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("WinScore(%v) = %v, want %v", c.scores, got, c.want)
		}
	}
	if got := WinScore([]float64{math.Inf(-1), 0.5}, 0, 1); !math.IsInf(got, -1) {
		t.Errorf("excluded strong model: win score %v, want -Inf", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	models := []string{"a", "b"}
	for _, p := range []Policy{
		{},
		{Kind: "best"},
		{Kind: PolicyUtility, Lambda: -1},
		{Kind: PolicyThreshold, Strong: "a", Weak: "a"},
		{Kind: PolicyThreshold, Strong: "a", Weak: "c"},
		{Kind: PolicyUtility, MaxCost: -1},
	} {
		if err := p.Validate(models); err == nil {
			t.Errorf("%+v validated", p)
		}
	}
}

func TestRouterRoute(t *testing.T) {
	r, err := NewRouter(fixedScorer{[]string{"small", "medium", "large"}}, []float64{0.001, 0.01, 0.1}, Policy{Kind: PolicyUtility, Lambda: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Easy prompt (scores 0.1, 0.2, 0.3): utility picks small.
	d, err := r.Route(ctx, Request{Embedding: []float32{0.3}})
	if err != nil || d.Model != "medium" && d.Model != "small" {
		t.Fatalf("route: %+v, %v", d, err)
	}
	if len(d.Scores) != 3 || d.Scores["large"] != 0.30000001192092896 {
		t.Errorf("scores %v", d.Scores)
	}
	// A per-request policy overrides the router's.
	d, err = r.Route(ctx, Request{Embedding: []float32{0.3}, Policy: &Policy{Kind: PolicyUtility}})
	if err != nil || d.Model != "large" {
		t.Errorf("lambda 0 override: %+v, %v", d, err)
	}
	// A subset of candidates.
	d, err = r.Route(ctx, Request{Embedding: []float32{0.9}, Models: []string{"small", "medium"}, Policy: &Policy{Kind: PolicyUtility}})
	if err != nil || d.Model != "medium" {
		t.Errorf("subset: %+v, %v", d, err)
	}
	if _, err := r.Route(ctx, Request{Embedding: []float32{0.9}, Models: []string{"huge"}}); err == nil {
		t.Error("routing to an unknown model succeeded")
	}
	if _, err := NewRouter(fixedScorer{[]string{"a", "b"}}, []float64{1}, Policy{Kind: PolicyUtility}); err == nil {
		t.Error("NewRouter accepted 1 cost for 2 models")
	}
}

// A subset that leaves out the first model must not read a cost at -1.
func TestRouteSubsetWithoutFirstModel(t *testing.T) {
	r, err := NewRouter(fixedScorer{[]string{"small", "medium", "large"}}, []float64{0.001, 0.01, 0.1}, Policy{Kind: PolicyUtility, Lambda: 1})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Route(context.Background(), Request{Embedding: []float32{0.9}, Models: []string{"medium", "large"}})
	if err != nil || (d.Model != "medium" && d.Model != "large") {
		t.Errorf("route over {medium, large}: %+v, %v", d, err)
	}
}
