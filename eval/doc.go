// Package eval scores routers offline from recorded answers, as defined in
// ../shared/docs/metrics.md: RouteLLM's scores for a strong/weak pair,
// cost-quality curves and RouterBench's AIQ for any number of priced
// models, random and oracle baselines, and bootstrap intervals.
//
// All inputs are plain slices indexed by prompt (and by model): scores are
// recorded qualities in [0, 1], costs are USD per query, shares and
// probabilities are fractions in [0, 1]. Nothing reads files.
//
// # Two models (RouteLLM)
//
// TwoModel takes the router's win rate w (its probability that a prompt
// needs the strong model; routekit eval passes models.WinScore, the number
// a threshold policy compares when serving, so each point's Threshold is
// the policy threshold giving that routing) and both models' scores. Thresholds are the
// edges of equal-count quantile bins of w (10 bins, RouteLLM's 11 edges,
// by default; TwoModelConfig.Bins for more); a prompt goes to the strong
// model when w >= threshold, so prompts with equal w move together. Each
// threshold gives a point (strong-call share s, average quality r); the
// curve runs from (0, r_weak) to (1, r_strong).
//
//   - PGR(r) = (r - r_weak) / (r_strong - r_weak), a fraction of the gap.
//   - AUC: trapezoid area under r over s in [0, 1], in score units.
//   - APGR = (AUC - r_weak) / (r_strong - r_weak): 0.5 for random
//     routing; the oracle bound (OracleAPGR) is usually above 1.
//   - CPT(x) = the smallest share s at which PGR reaches x, linearly
//     interpolated (CPT20, CPT50, CPT80); lower is better.
//
// r_strong == r_weak is an error (ErrNoGap): every score above divides by
// the gap. RandomTwoModel averages TwoModel over at least 10 routers with
// uniformly random w.
//
// # Many models with costs
//
// ManyModel takes the router's P(model m answers prompt i well) and the
// recorded scores and costs. At price of quality lambda (quality per USD)
// the router picks argmax_m P - lambda*price_m, with price_m the model's
// mean recorded cost unless configured; the routing's point is the
// average recorded cost (USD per query) and quality of the picks. Lambda
// sweeps from 0 (best quality) through a geometric grid up to the last
// breakpoint (cheapest routing), or every breakpoint exactly.
//
//   - Single models are points; the best single model B (highest quality,
//     cheaper on ties) has quality Q* and cost C*.
//   - QualityAtBestCost: best quality on the curve at cost <= C*.
//   - CostAtBestQuality: lowest cost on the curve with quality >= Q*, and
//     Saving = 1 - cost/C*; NaN when the curve never reaches Q*.
//   - AIQ: the average height (quality units) of the curve's
//     non-decreasing convex hull (Hull) over the cost range of the single
//     models, the hull read flat beyond its ends (HullArea). ZeroAIQ is
//     the same for the single models' hull, the "zero router", which is
//     also the random-mixture baseline: routing at random between models
//     gives, in expectation, points on the segments between them, so
//     ZeroHull and ZeroAIQ are the exact expected value of the best
//     random mixtures: no sampling, no seed (routekit eval reports them
//     as the random baseline of many-model mode).
//   - Oracle: each prompt's best score, cheapest among ties: the ceiling.
//
// # Intervals
//
// Bootstrap returns a percentile 95% interval of any statistic over
// resampled prompt indices (at least 200 resamples, 1000 by default);
// BootstrapAPGR, BootstrapQualityAtBestCost and the general
// BootstrapTwoModel and BootstrapManyModel apply it to the scores above.
//
// # Errors and concurrency
//
// Bad input is an *InputError naming the argument and position, wrapping
// ErrEmpty, ErrLength, ErrNotFinite or ErrNegativeCost; callers branch
// with errors.Is. Every function is pure: it neither keeps nor modifies
// its arguments and is safe for concurrent use. Randomness comes only
// from the *rand.Rand passed in (math/rand/v2), so a seed reproduces a
// result; one *rand.Rand must not be shared by concurrent calls.
package eval
