package models

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Scorer is the learned part of a router: for one prompt embedding it
// predicts, for each candidate model, the probability that the model
// answers well. Implementations are read-only once built and safe for
// concurrent use.
type Scorer interface {
	// Models returns the candidate models, in the order Score fills dst.
	Models() []string
	// Score writes P(model answers well | prompt) for each model into dst,
	// which has len(Models()) elements.
	Score(emb []float32, dst []float64)
}

// Explainer is implemented by scorers that can say more about a prompt
// (IRT routers: its difficulty).
type Explainer interface {
	// Difficulty returns the prompt's predicted difficulty (on the logit
	// scale of the scorer's model).
	Difficulty(emb []float32) float64
}

// Policy kinds.
const (
	// PolicyThreshold routes to the strong model when its win score
	// (WinScore) is at least Threshold (two models, as RouteLLM).
	PolicyThreshold = "threshold"
	// PolicyUtility routes to argmax_m P(m) - Lambda * cost_m.
	PolicyUtility = "utility"
)

// Policy turns scores into a choice. The zero value is not valid.
type Policy struct {
	Kind string `json:"kind"`
	// Threshold: route to Strong when WinScore(scores, Strong, Weak) >=
	// Threshold, else to Weak. The win score is in [0, 1]: 0.5 means
	// both models are equally likely to answer well.
	Threshold float64 `json:"threshold,omitempty"`
	Strong    string  `json:"strong,omitempty"`
	Weak      string  `json:"weak,omitempty"`
	// Lambda is the price of quality in score units per USD.
	Lambda float64 `json:"lambda,omitempty"`
	// MaxCost, when > 0, excludes models whose expected cost per query
	// exceeds it (USD).
	MaxCost float64 `json:"max_cost,omitempty"`
}

// Errors callers branch on.
var (
	// ErrNoModel means no candidate model satisfies a policy.
	ErrNoModel = errors.New("no model satisfies the policy")
	// ErrNotCandidate means a request names a model the router does not
	// score.
	ErrNotCandidate = errors.New("not a candidate model")
)

// Validate checks a policy against the candidate models.
func (p Policy) Validate(models []string) error {
	has := func(m string) bool {
		for _, x := range models {
			if x == m {
				return true
			}
		}
		return false
	}
	switch p.Kind {
	case PolicyThreshold:
		if !has(p.Strong) || !has(p.Weak) || p.Strong == p.Weak {
			return fmt.Errorf("threshold policy: strong %q and weak %q must be two different candidate models", p.Strong, p.Weak)
		}
		if math.IsNaN(p.Threshold) {
			return errors.New("threshold policy: threshold is NaN")
		}
	case PolicyUtility:
		if p.Lambda < 0 || math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0) {
			return fmt.Errorf("utility policy: lambda %v is not a finite number >= 0", p.Lambda)
		}
	default:
		return fmt.Errorf("unknown policy kind %q (want %s or %s)", p.Kind, PolicyThreshold, PolicyUtility)
	}
	if p.MaxCost < 0 {
		return fmt.Errorf("policy: max_cost %v < 0", p.MaxCost)
	}
	return nil
}

// WinScore is the strong model's win score over the weak one, the number
// a threshold policy compares with its threshold, in models order:
//
//	WinScore(scores, s, w) = (1 + scores[s] - scores[w]) / 2
//
// For independent probabilities of answering well it is P(strong beats
// weak) with ties split evenly; for RouteLLM's 3-way head, whose weak
// score is 1 - P(strong wins), it is P(strong wins) exactly. It lies in
// [0, 1] for scores in [0, 1] and ranks prompts as scores[s] - scores[w]
// does. A score of -Inf (a model excluded from a request) gives -Inf for
// the strong model and +Inf for the weak one.
func WinScore(scores []float64, s, w int) float64 {
	return (1 + scores[s] - scores[w]) / 2
}

// Choose returns the index of the chosen model given the scores and the
// expected cost per query (USD) of each model, both in models order. A
// threshold policy compares WinScore(scores, strong, weak) with its
// threshold. Ties in utility go to the cheaper model.
func (p Policy) Choose(models []string, scores, costs []float64) (int, error) {
	allowed := func(i int) bool { return p.MaxCost <= 0 || costs[i] <= p.MaxCost }
	switch p.Kind {
	case PolicyThreshold:
		s, w := -1, -1
		for i, m := range models {
			switch m {
			case p.Strong:
				s = i
			case p.Weak:
				w = i
			}
		}
		if s < 0 || w < 0 {
			return -1, fmt.Errorf("threshold policy: strong %q or weak %q is not a candidate", p.Strong, p.Weak)
		}
		if WinScore(scores, s, w) >= p.Threshold && allowed(s) {
			return s, nil
		}
		if allowed(w) {
			return w, nil
		}
		return -1, ErrNoModel
	case PolicyUtility:
		best, bestU := -1, math.Inf(-1)
		for i := range models {
			if !allowed(i) {
				continue
			}
			u := scores[i] - p.Lambda*costs[i]
			if best < 0 || u > bestU || (u == bestU && costs[i] < costs[best]) {
				best, bestU = i, u
			}
		}
		if best < 0 {
			return -1, ErrNoModel
		}
		return best, nil
	}
	return -1, fmt.Errorf("unknown policy kind %q", p.Kind)
}

// Request is one routing request: a prompt embedding, optionally a subset
// of candidate models and a policy overriding the router's own.
type Request struct {
	Embedding []float32
	// Models restricts the candidates; nil means all.
	Models []string
	// Policy overrides the router's policy when not nil.
	Policy *Policy
}

// Decision is a routing decision.
type Decision struct {
	Model  string
	Scores map[string]float64
	// Difficulty is set by routers whose scorer is an Explainer.
	Difficulty *float64
}

// Router routes embedded prompts: a Scorer, the models' expected costs
// and a default policy. It is read-only and safe for concurrent use.
type Router struct {
	Scorer Scorer
	// Costs is the expected cost per query (USD) of each model, in
	// Scorer.Models() order.
	Costs  []float64
	Policy Policy
}

// NewRouter checks and returns a router.
func NewRouter(s Scorer, costs []float64, p Policy) (*Router, error) {
	models := s.Models()
	if len(costs) != len(models) {
		return nil, fmt.Errorf("%d costs for %d models", len(costs), len(models))
	}
	for i, c := range costs {
		if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("model %s: cost %v is not a finite number >= 0", models[i], c)
		}
	}
	if err := p.Validate(models); err != nil {
		return nil, err
	}
	return &Router{Scorer: s, Costs: costs, Policy: p}, nil
}

// Route chooses a model for a request.
func (r *Router) Route(ctx context.Context, req Request) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	models := r.Scorer.Models()
	scores := make([]float64, len(models))
	r.Scorer.Score(req.Embedding, scores)
	p := r.Policy
	if req.Policy != nil {
		p = *req.Policy
		if err := p.Validate(models); err != nil {
			return Decision{}, err
		}
	}
	costs := r.Costs
	if req.Models != nil {
		// Exclude models not asked for by pricing them out.
		want := make(map[string]bool, len(req.Models))
		for _, m := range req.Models {
			want[m] = true
		}
		costs = append([]float64(nil), r.Costs...)
		sc := append([]float64(nil), scores...)
		for i, m := range models {
			if !want[m] {
				sc[i] = math.Inf(-1)
			}
		}
		n := 0
		for _, m := range models {
			if want[m] {
				n++
			}
		}
		if n != len(want) {
			return Decision{}, fmt.Errorf("%w: requested models %v include some the router does not score", ErrNotCandidate, req.Models)
		}
		i, err := p.Choose(models, sc, costs)
		if err != nil {
			return Decision{}, err
		}
		if math.IsInf(sc[i], -1) {
			return Decision{}, ErrNoModel
		}
		return r.decision(models, scores, i, req.Embedding), nil
	}
	i, err := p.Choose(models, scores, costs)
	if err != nil {
		return Decision{}, err
	}
	return r.decision(models, scores, i, req.Embedding), nil
}

func (r *Router) decision(models []string, scores []float64, i int, emb []float32) Decision {
	d := Decision{Model: models[i], Scores: make(map[string]float64, len(models))}
	for j, m := range models {
		d.Scores[m] = scores[j]
	}
	if ex, ok := r.Scorer.(Explainer); ok {
		diff := ex.Difficulty(emb)
		d.Difficulty = &diff
	}
	return d
}
