package irt

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// MinAbilityResponses is the fewest responses FitAbility accepts.
const MinAbilityResponses = 50

// AbilityConfig configures FitAbility. The zero value is the default.
type AbilityConfig struct {
	// PriorScale multiplies the prior standard deviations; 0 means 1.
	// The prior on θ is Gaussian, centred on the mean ability of the
	// fitted models, with per-dimension variances equal to the variances
	// of their abilities (at least 0.01; 1 with a single model). Larger
	// values trust the data more.
	PriorScale float64
	// MaxIter bounds the Newton iterations; 0 means 50.
	MaxIter int
}

// AbilityReport describes a FitAbility fit.
type AbilityReport struct {
	// StdErr is the posterior standard deviation of each entry of θ (the
	// square roots of the diagonal of the inverse Hessian at the MAP).
	StdErr []float64
	// LogLoss is the mean log-loss of the responses at θ.
	LogLoss    float64
	Responses  int
	Iterations int
}

// FitAbility fits the ability θ of a new model from its graded answers with
// every item parameter of p frozen: the maximum a posteriori estimate under
// a Gaussian prior (see AbilityConfig), a strictly convex problem solved by
// Newton's method with step halving. resp[i].Prompt indexes emb
// (embeddings of length p.D); resp[i].Model is ignored. At least
// MinAbilityResponses responses are required. Add the model with
// p.AddModel(name, theta).
func FitAbility(ctx context.Context, p *Params, emb [][]float32, resp []Response, cfg AbilityConfig) ([]float64, *AbilityReport, error) {
	if err := p.check(); err != nil {
		return nil, nil, err
	}
	if len(resp) < MinAbilityResponses {
		return nil, nil, fmt.Errorf("irt: FitAbility: %d responses, want at least %d", len(resp), MinAbilityResponses)
	}
	if cfg.PriorScale == 0 {
		cfg.PriorScale = 1
	}
	if !(cfg.PriorScale > 0) || math.IsInf(cfg.PriorScale, 0) {
		return nil, nil, fmt.Errorf("irt: FitAbility: PriorScale %v, want a finite number > 0", cfg.PriorScale)
	}
	if cfg.MaxIter == 0 {
		cfg.MaxIter = 50
	}
	if cfg.MaxIter < 0 {
		return nil, nil, fmt.Errorf("irt: FitAbility: MaxIter %d, want at least 1", cfg.MaxIter)
	}
	K := p.K
	// Item parameters of every response.
	items := make([]float64, len(resp)*K)
	bs := make([]float64, len(resp))
	ys := make([]float64, len(resp))
	for i, r := range resp {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		if r.Prompt < 0 || r.Prompt >= len(emb) {
			return nil, nil, fmt.Errorf("irt: FitAbility: response %d: prompt index %d out of range [0, %d)", i, r.Prompt, len(emb))
		}
		if len(emb[r.Prompt]) != p.D {
			return nil, nil, fmt.Errorf("irt: FitAbility: prompt %d: embedding of length %d, want %d", r.Prompt, len(emb[r.Prompt]), p.D)
		}
		if !(r.Score >= 0 && r.Score <= 1) {
			return nil, nil, fmt.Errorf("irt: FitAbility: response %d: score %v, want a number in [0, 1]", i, r.Score)
		}
		bs[i] = p.item(emb[r.Prompt], items[i*K:(i+1)*K])
		ys[i] = r.Score
	}
	// Prior from the fitted models.
	M := float64(len(p.Theta))
	mu := make([]float64, K)
	prec := make([]float64, K)
	for _, th := range p.Theta {
		for j, v := range th {
			mu[j] += v / M
		}
	}
	for j := range prec {
		v := 1.0
		if len(p.Theta) > 1 {
			v = 0
			for _, th := range p.Theta {
				v += (th[j] - mu[j]) * (th[j] - mu[j])
			}
			v = math.Max(v/M, 0.01)
		}
		prec[j] = 1 / (v * cfg.PriorScale * cfg.PriorScale)
	}
	// Negative log posterior (sum over responses).
	obj := func(th []float64) float64 {
		f := 0.0
		for i := range ys {
			z := dotK(items[i*K:(i+1)*K], th) - bs[i]
			f += softplus(z) - ys[i]*z
		}
		for j := range th {
			d := th[j] - mu[j]
			f += 0.5 * prec[j] * d * d
		}
		return f
	}
	theta := append([]float64(nil), mu...)
	f := obj(theta)
	g := make([]float64, K)
	H := mat.NewSymDense(K, nil)
	step := make([]float64, K)
	trial := make([]float64, K)
	var chol mat.Cholesky
	iters := 0
	for iters < cfg.MaxIter {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		iters++
		for j := range g {
			g[j] = prec[j] * (theta[j] - mu[j])
		}
		H.Zero()
		for j := 0; j < K; j++ {
			H.SetSym(j, j, prec[j])
		}
		for i := range ys {
			a := items[i*K : (i+1)*K]
			pr := sigmoid(dotK(a, theta) - bs[i])
			r := pr - ys[i]
			w := pr * (1 - pr)
			for j := 0; j < K; j++ {
				g[j] += r * a[j]
				for l := j; l < K; l++ {
					H.SetSym(j, l, H.At(j, l)+w*a[j]*a[l])
				}
			}
		}
		if !chol.Factorize(H) {
			return nil, nil, errors.New("irt: FitAbility: Hessian not positive definite")
		}
		sv := mat.NewVecDense(K, step)
		if err := chol.SolveVecTo(sv, mat.NewVecDense(K, g)); err != nil {
			return nil, nil, fmt.Errorf("irt: FitAbility: %w", err)
		}
		// Newton decrement; halve the step until the objective decreases.
		dec := 0.0
		for j := range g {
			dec += g[j] * step[j]
		}
		t := 1.0
		var ft float64
		for h := 0; h < 30; h++ {
			for j := range trial {
				trial[j] = theta[j] - t*step[j]
			}
			ft = obj(trial)
			if ft <= f-1e-4*t*dec {
				break
			}
			t /= 2
		}
		if ft > f {
			break
		}
		copy(theta, trial)
		f = ft
		if dec/2 < 1e-10 {
			break
		}
	}
	// Posterior standard deviations at the solution.
	H.Zero()
	for j := 0; j < K; j++ {
		H.SetSym(j, j, prec[j])
	}
	ll := 0.0
	for i := range ys {
		a := items[i*K : (i+1)*K]
		pr := sigmoid(dotK(a, theta) - bs[i])
		ll += logLoss(pr, ys[i])
		w := pr * (1 - pr)
		for j := 0; j < K; j++ {
			for l := j; l < K; l++ {
				H.SetSym(j, l, H.At(j, l)+w*a[j]*a[l])
			}
		}
	}
	rep := &AbilityReport{StdErr: make([]float64, K), LogLoss: ll / float64(len(ys)), Responses: len(ys), Iterations: iters}
	if chol.Factorize(H) {
		var inv mat.SymDense
		if err := chol.InverseTo(&inv); err == nil {
			for j := range rep.StdErr {
				rep.StdErr[j] = math.Sqrt(inv.At(j, j))
			}
		}
	}
	for _, v := range theta {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, errors.New("irt: FitAbility: diverged")
		}
	}
	return theta, rep, nil
}
