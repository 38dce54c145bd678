package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/routekit/routekit/eval"
	"github.com/routekit/routekit/eval/report"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/train"
)

// evalRouter is one router under evaluation: its P(model good) for each
// test prompt and candidate model.
type evalRouter struct {
	name  string
	probs [][]float64
	// single is set for single:MODEL: one fixed routing, no sweep.
	single bool
}

// routerScores is one router's line of the --json output.
type routerScores struct {
	APGR              *float64 `json:"apgr,omitempty"`
	CPT20             *float64 `json:"cpt20,omitempty"`
	CPT50             *float64 `json:"cpt50,omitempty"`
	CPT80             *float64 `json:"cpt80,omitempty"`
	AUC               *float64 `json:"auc,omitempty"`
	QualityAtBestCost *float64 `json:"quality_at_best_cost,omitempty"`
	CostAtBestQuality *float64 `json:"cost_at_best_quality,omitempty"`
	Saving            *float64 `json:"saving,omitempty"`
	AIQ               *float64 `json:"aiq,omitempty"`
	ZeroAIQ           *float64 `json:"zero_aiq,omitempty"`
	// Curve is [[x, quality]]: x is the share of strong calls (two
	// models) or the average cost per query in USD (many models).
	Curve [][2]float64 `json:"curve,omitempty"`
	// Thresholds (two models) holds the win-score threshold of each
	// curve point, null for +/-infinity (all to the weak / all to the
	// strong model); Lambdas (many models) the price of quality.
	Thresholds []*float64 `json:"thresholds,omitempty"`
	Lambdas    []float64  `json:"lambdas,omitempty"`
	// Seeds and APGRStd describe the random baseline of two-model mode:
	// the number of random routers averaged and the standard deviation
	// of their APGR.
	Seeds   int                   `json:"seeds,omitempty"`
	APGRStd *float64              `json:"apgr_std,omitempty"`
	CI95    map[string][2]float64 `json:"ci95,omitempty"`

	// For the text table: the threshold of the first curve point
	// recovering half the gap (two models), the lambda of the best point
	// at no more than the best single model's cost (many models).
	thrHalf, lambdaBest *float64
}

func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

// routerRNG is the generator of one router's bootstrap (or of the random
// baseline, name "random"): seeded from --seed and the router's name, so a
// router's intervals do not depend on which other routers are in the run.
func routerRNG(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// bootstrapCI adds the interval of one statistic to rs.CI95. A statistic
// undefined on most resamples (eval.ErrUndefined) gets no interval.
func bootstrapCI(rs *routerScores, key string, f func() (lo, hi float64, err error)) error {
	lo, hi, err := f()
	if errors.Is(err, eval.ErrUndefined) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bootstrap of %s: %w", key, err)
	}
	if rs.CI95 == nil {
		rs.CI95 = map[string][2]float64{}
	}
	rs.CI95[key] = [2]float64{lo, hi}
	return nil
}

// halfGapThreshold is the threshold of the first point (by increasing
// share) recovering at least half of the quality gap.
func halfGapThreshold(pts []eval.SharePoint) *float64 {
	for _, p := range pts {
		if p.PGR >= 0.5 {
			return num(p.Threshold)
		}
	}
	return nil
}

// bestCostLambda is the lambda of the best-quality curve point costing no
// more than the best single model (within the relative 1e-9 eval allows).
func bestCostLambda(mr *eval.ManyModelResult) *float64 {
	var best *float64
	q := math.Inf(-1)
	for _, p := range mr.Curve {
		if p.Cost <= mr.BestCost*(1+1e-9) && p.Quality > q {
			q, best = p.Quality, num(p.Lambda)
		}
	}
	return best
}

func evalCommand() *command {
	return &command{
		name:  "eval",
		usage: "--data TEST [--artifact DIR]... [--router random|oracle|single:M]... [--strong M --weak M] [--json] [--report FILE]",
		short: "score routers on held-out outcomes: APGR, CPT, cost-quality curves, baselines",
		long: `Two-model mode (--strong/--weak, or data with two models): RouteLLM's APGR,
CPT(20/50/80%) and AUC over quantile thresholds of each router's win score
(1 + P(strong) - P(weak)) / 2, the number a threshold policy compares (route,
serve, calibrate); "thresholds" in --json holds each curve point's threshold,
and the text table the threshold of the first point recovering half the gap.
Many-model mode: the lambda sweep of argmax P - lambda*cost ("lambdas" in
--json), quality at the best single model's cost, cost at its quality and the
saving, AIQ, with every single model, the oracle and random routing (the exact
expected zero-router hull); single:MODEL is that model's one point.
Every candidate model needs a cost (recorded, or a --catalog price), even in
two-model mode. Prompts missing an answer of a candidate model are reported
and left out for every router alike. Bootstrap 95% intervals (APGR and
CPT(50%), or quality at best cost and AIQ): each router's resamples and the
random routers are drawn from generators seeded by --seed and the router's
name. --report FILE also writes a self-contained HTML page (inline SVG plot,
tables, data fingerprint) next to the text or JSON output.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			fs.Var(&rf.in, "data", "test data `file` (repeatable; same as --in)")
			var arts, pseudo listFlag
			fs.Var(&arts, "artifact", "router artifact `directory` (repeatable)")
			fs.Var(&pseudo, "router", "pseudo-router: random, oracle or single:MODEL (repeatable)")
			strong := fs.String("strong", "", "two-model mode: the strong model")
			weak := fs.String("weak", "", "two-model mode: the weak model")
			asJSON := fs.Bool("json", false, "print one JSON object")
			reportFile := fs.String("report", "", "also write an HTML report (plot and tables) to `file`")
			seed := fs.Uint64("seed", 1, "seed of random routing and the bootstrap")
			resamples := fs.Int("bootstrap", 200, fmt.Sprintf("bootstrap resamples for the 95%% intervals (0: none, else at least %d)", eval.MinResamples))
			var of onnxFlags
			of.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, cat, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				if (*strong == "") != (*weak == "") {
					return usagef("--strong and --weak go together")
				}
				if *strong != "" && *strong == *weak {
					return usagef("--strong and --weak are both %s: want two different models", *strong)
				}
				if *resamples < 0 || (*resamples > 0 && *resamples < eval.MinResamples) {
					return usagef("--bootstrap %d: want 0 (no intervals) or at least %d resamples", *resamples, eval.MinResamples)
				}
				onnx, err := of.config()
				if err != nil {
					return err
				}
				b := train.NewBuilder()
				if _, err := readAll(ctx, e, opt, inputs, b.Handler()); err != nil {
					return err
				}
				ds, err := b.Build(cat)
				if err != nil {
					return err
				}
				cand := ds.Models
				if *strong != "" {
					cand = []string{*strong, *weak}
				}
				mi := make([]int, len(cand))
				for i, m := range cand {
					mi[i] = -1
					for j, d := range ds.Models {
						if d == m {
							mi[i] = j
						}
					}
					if mi[i] < 0 {
						return fmt.Errorf("model %s has no answers in the data", m)
					}
				}
				all := make([]int, len(ds.Prompts))
				for i := range all {
					all[i] = i
				}
				fullScores, fullCosts := ds.ScoreMatrix(all)
				var prompts []int
				var scores, costs [][]float64
				missing := 0
				for p := range all {
					s, c := make([]float64, len(cand)), make([]float64, len(cand))
					ok := true
					for i, j := range mi {
						s[i], c[i] = fullScores[p][j], fullCosts[p][j]
						if math.IsNaN(s[i]) {
							ok = false
						}
						if math.IsNaN(c[i]) {
							c[i] = ds.Costs[j]
						}
					}
					if !ok {
						missing++
						continue
					}
					prompts, scores, costs = append(prompts, p), append(scores, s), append(costs, c)
				}
				if len(prompts) == 0 {
					return errors.New("no prompt has an answer of every candidate model")
				}
				texts := make([]string, len(prompts))
				for i, p := range prompts {
					texts[i] = ds.Texts[p]
				}
				var routers []evalRouter
				for _, dir := range arts.values {
					r, err := artifactRouter(ctx, dir, cand, texts, onnx)
					if err != nil {
						return err
					}
					routers = append(routers, r)
				}
				doRandom := false
				for _, p := range pseudo.values {
					switch {
					case p == "random":
						doRandom = true
					case p == "oracle":
						routers = append(routers, evalRouter{name: "oracle", probs: scores})
					case strings.HasPrefix(p, "single:"):
						m := strings.TrimPrefix(p, "single:")
						k := -1
						for i, c := range cand {
							if c == m {
								k = i
							}
						}
						if k < 0 {
							return usagef("--router %s: not a candidate model", p)
						}
						probs := make([][]float64, len(prompts))
						for i := range probs {
							probs[i] = make([]float64, len(cand))
							probs[i][k] = 1
						}
						routers = append(routers, evalRouter{name: p, probs: probs, single: true})
					default:
						return usagef("--router %q: want random, oracle or single:MODEL", p)
					}
				}
				res := map[string]any{"n_prompts": len(prompts), "models": cand, "excluded_prompts": missing}
				out := map[string]routerScores{}
				two := len(cand) == 2
				var mm *eval.ManyModelResult
				rep := reportInput{two: two, oracleAPGR: math.NaN()}
				if two {
					s, w := 0, 1
					if *strong == "" && ds.Costs[mi[1]] > ds.Costs[mi[0]] {
						s, w = 1, 0 // the dearer model is the strong one
					}
					res["strong"], res["weak"] = cand[s], cand[w]
					rep.strong, rep.weak = s, w
					sv, wv := column(scores, s), column(scores, w)
					cfg := eval.DefaultTwoModelConfig()
					// The oracle bound does not depend on the router.
					ob, err := eval.TwoModel(sv, sv, wv, cfg)
					if err != nil {
						return err
					}
					rep.oracleAPGR = ob.OracleAPGR
					for _, r := range routers {
						win := make([]float64, len(prompts))
						for i := range win {
							win[i] = models.WinScore(r.probs[i], s, w)
						}
						tr, err := eval.TwoModel(win, sv, wv, cfg)
						if err != nil {
							return fmt.Errorf("router %s: %w", r.name, err)
						}
						rs := twoScores(tr)
						if *resamples > 0 {
							for _, st := range []struct {
								key  string
								pick func(*eval.TwoModelResult) float64
							}{
								{"apgr", func(r *eval.TwoModelResult) float64 { return r.APGR }},
								{"cpt50", func(r *eval.TwoModelResult) float64 { return r.CPT50 }},
							} {
								// A fresh generator per statistic: every
								// statistic of a router sees the same resamples.
								if err := bootstrapCI(&rs, st.key, func() (float64, float64, error) {
									return eval.BootstrapTwoModel(win, sv, wv, cfg, *resamples, routerRNG(*seed, r.name), st.pick)
								}); err != nil {
									return fmt.Errorf("router %s: %w", r.name, err)
								}
							}
						}
						out[r.name] = rs
					}
					if doRandom {
						rr, err := eval.RandomTwoModel(sv, wv, 0, routerRNG(*seed, "random"), cfg)
						if err != nil {
							return err
						}
						rs := routerScores{APGR: num(rr.APGR), CPT20: num(rr.CPT20), CPT50: num(rr.CPT50), CPT80: num(rr.CPT80), AUC: num(rr.AUC),
							Seeds: rr.Seeds, APGRStd: num(rr.APGRStd), thrHalf: halfGapThreshold(rr.Points)}
						for _, p := range rr.Points {
							rs.Curve = append(rs.Curve, [2]float64{p.Share, p.Quality})
							rs.Thresholds = append(rs.Thresholds, num(p.Threshold))
						}
						rep.randomCurve = rs.Curve
						out["random"] = rs
					}
				}
				cfg := eval.DefaultManyModelConfig()
				for _, r := range routers {
					rcfg := cfg
					if r.single {
						rcfg.Lambdas = []float64{0} // one routing: every prompt to the model
					}
					mr, err := eval.ManyModel(r.probs, scores, costs, cand, rcfg)
					if err != nil {
						return fmt.Errorf("router %s: %w", r.name, err)
					}
					mm = mr
					rs := out[r.name]
					rs.QualityAtBestCost, rs.CostAtBestQuality, rs.Saving = num(mr.QualityAtBestCost), num(mr.CostAtBestQuality), num(mr.Saving)
					rs.AIQ, rs.ZeroAIQ = num(mr.AIQ), num(mr.ZeroAIQ)
					if !two {
						rs.lambdaBest = bestCostLambda(mr)
						for _, p := range mr.Curve {
							rs.Curve = append(rs.Curve, [2]float64{p.Cost, p.Quality})
							rs.Lambdas = append(rs.Lambdas, p.Lambda)
						}
						if *resamples > 0 {
							for _, st := range []struct {
								key  string
								pick func(*eval.ManyModelResult) float64
							}{
								{"quality_at_best_cost", func(r *eval.ManyModelResult) float64 { return r.QualityAtBestCost }},
								{"aiq", func(r *eval.ManyModelResult) float64 { return r.AIQ }},
							} {
								if err := bootstrapCI(&rs, st.key, func() (float64, float64, error) {
									return eval.BootstrapManyModel(r.probs, scores, costs, cand, rcfg, *resamples, routerRNG(*seed, r.name), st.pick)
								}); err != nil {
									return fmt.Errorf("router %s: %w", r.name, err)
								}
							}
						}
					}
					out[r.name] = rs
				}
				if mm == nil {
					// Baselines need one ManyModel run; the oracle's probs
					// are the scores themselves.
					if mm, err = eval.ManyModel(scores, scores, costs, cand, cfg); err != nil {
						return err
					}
				}
				if doRandom && !two {
					// The exact expected value of random mixtures of single
					// models: the zero-router hull, no sampling.
					rs := routerScores{AIQ: num(mm.ZeroAIQ)}
					for _, h := range mm.ZeroHull {
						rs.Curve = append(rs.Curve, [2]float64{h.Cost, h.Quality})
					}
					out["random"] = rs
				}
				b0 := mm.Singles[mm.Best]
				res["best_single"] = map[string]any{"model": b0.Model, "quality": b0.Quality, "cost": b0.Cost}
				singles := map[string]any{}
				for _, s := range mm.Singles {
					singles[s.Model] = map[string]float64{"quality": s.Quality, "cost": s.Cost}
				}
				res["singles"] = singles
				oracle := map[string]float64{"quality": mm.Oracle.Quality, "cost": mm.Oracle.Cost}
				if two && !math.IsNaN(rep.oracleAPGR) && !math.IsInf(rep.oracleAPGR, 0) {
					oracle["apgr"] = rep.oracleAPGR
				}
				res["oracle"] = oracle
				res["routers"] = out
				if *reportFile != "" {
					rep.inputs, rep.models, rep.prompts, rep.missing = inputs, cand, len(prompts), missing
					rep.sha, rep.out, rep.mm, rep.random = ds.Fingerprint, out, mm, doRandom
					if err := writeReport(*reportFile, buildPage(&rep, time.Now())); err != nil {
						return err
					}
				}
				if *asJSON {
					return writeJSON(e.stdout, res)
				}
				printEval(e, res, out, two, missing)
				return nil
			}
		},
	}
}

func column(m [][]float64, j int) []float64 {
	out := make([]float64, len(m))
	for i := range m {
		out[i] = m[i][j]
	}
	return out
}

func twoScores(tr *eval.TwoModelResult) routerScores {
	rs := routerScores{APGR: num(tr.APGR), CPT20: num(tr.CPT20), CPT50: num(tr.CPT50), CPT80: num(tr.CPT80), AUC: num(tr.AUC),
		thrHalf: halfGapThreshold(tr.Points)}
	for _, p := range tr.Points {
		rs.Curve = append(rs.Curve, [2]float64{p.Share, p.Quality})
		rs.Thresholds = append(rs.Thresholds, num(p.Threshold))
	}
	return rs
}

// artifactRouter loads an artifact and scores the test prompts.
func artifactRouter(ctx context.Context, dir string, cand, texts []string, onnx encoder.ONNXConfig) (evalRouter, error) {
	l, err := artifact.Load(ctx, dir, onnx)
	if err != nil {
		return evalRouter{}, err
	}
	defer l.Close()
	names := l.Router.Scorer.Models()
	idx := make([]int, len(cand))
	for i, c := range cand {
		idx[i] = -1
		for j, n := range names {
			if n == c {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return evalRouter{}, fmt.Errorf("artifact %s does not score model %s", dir, c)
		}
	}
	emb, err := l.Encoder.Encode(ctx, texts)
	if err != nil {
		return evalRouter{}, err
	}
	probs := make([][]float64, len(texts))
	buf := make([]float64, len(names))
	for i, v := range emb {
		l.Router.Scorer.Score(v, buf)
		probs[i] = make([]float64, len(cand))
		for k, j := range idx {
			probs[i][k] = buf[j]
		}
	}
	name := l.Manifest.Router + ":" + dir
	return evalRouter{name: name, probs: probs}, nil
}

// pct prints a share as a percentage.
func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100**p)
}

func fmtNum(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

func printEval(e *env, res map[string]any, out map[string]routerScores, two bool, missing int) {
	fmt.Fprintf(e.stdout, "%d prompts (%d left out: a candidate model has no answer), models %v\n", res["n_prompts"], missing, res["models"])
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	names := sortedNames(out)
	if two {
		fmt.Fprintf(e.stdout, "strong %v, weak %v\n\n", res["strong"], res["weak"])
		fmt.Fprintln(tw, "router\tAPGR\t95% CI\tCPT(20%)\tCPT(50%)\t95% CI\tCPT(80%)\tthreshold(PGR 50%)\t")
		for _, n := range names {
			r := out[n]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n, fmtNum(r.APGR, "%.3f"), ciCell(r, "apgr", "[%.3f, %.3f]"), pct(r.CPT20), pct(r.CPT50),
				ciCell(r, "cpt50", "[%.1f%%, %.1f%%]"), pct(r.CPT80), fmtNum(r.thrHalf, "%.4f"))
		}
	} else {
		b := res["best_single"].(map[string]any)
		fmt.Fprintf(e.stdout, "best single model %v: quality %.4f at $%.6f per query; oracle %.4f\n\n", b["model"], b["quality"], b["cost"], res["oracle"].(map[string]float64)["quality"])
		fmt.Fprintln(tw, "router\tquality at best cost\t95% CI\tlambda\tcost at best quality\tsaving\tAIQ\t95% CI\t")
		for _, n := range names {
			r := out[n]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", n, fmtNum(r.QualityAtBestCost, "%.4f"), ciCell(r, "quality_at_best_cost", "[%.4f, %.4f]"),
				fmtNum(r.lambdaBest, "%.4g"), fmtNum(r.CostAtBestQuality, "$%.6f"), fmtNum(r.Saving, "%.3f"), fmtNum(r.AIQ, "%.4f"), ciCell(r, "aiq", "[%.4f, %.4f]"))
		}
	}
	tw.Flush()
}

func sortedNames(m map[string]routerScores) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && names[j] < names[j-1]; j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	return names
}

// reportInput is what --report draws: the results computed above.
type reportInput struct {
	two            bool
	strong, weak   int // indices in models (two-model mode)
	inputs, models []string
	prompts        int
	missing        int
	sha            string
	out            map[string]routerScores
	mm             *eval.ManyModelResult
	random         bool         // --router random was given
	randomCurve    [][2]float64 // two-model mode: the mean random curve
	oracleAPGR     float64      // two-model mode: the exact oracle bound
}

// buildPage lays out the report: one plot and the score tables. Routers are
// in name order, as in the text table, so each keeps one colour throughout.
func buildPage(in *reportInput, now time.Time) *report.Page {
	p := &report.Page{
		Title: "routekit eval",
		Fingerprint: report.Fingerprint{
			Inputs: in.inputs, Prompts: in.prompts, LeftOut: in.missing,
			Models: in.models, SHA256: in.sha, Generated: now,
		},
	}
	names := sortedNames(in.out)
	f := func(v *float64, format string) string { return fmtNum(v, format) }
	mm := in.mm
	if in.two {
		strong, weak := mm.Singles[in.strong], mm.Singles[in.weak]
		p.Mode = "Two-model mode (RouteLLM): strong " + strong.Model + ", weak " + weak.Model
		p.Summary = []string{
			fmt.Sprintf("Strong model %s: mean score %.4f at $%.6f per query. Weak model %s: mean score %.4f at $%.6f per query.",
				strong.Model, strong.Quality, strong.Cost, weak.Model, weak.Quality, weak.Cost),
		}
		if !math.IsNaN(in.oracleAPGR) {
			p.Summary = append(p.Summary, fmt.Sprintf("Exact oracle bound: APGR %.3f.", in.oracleAPGR))
		}
		p.Plot = report.Plot{
			Title:  "Mean score against the share of prompts sent to the strong model, as each router's threshold moves.",
			XLabel: "share of strong calls (fraction of prompts)",
			YLabel: "mean score (quality)",
			XScale: report.ScaleLinear,
			HLines: []report.HLine{
				{Label: "strong: " + strong.Model, Y: strong.Quality},
				{Label: "weak: " + weak.Model, Y: weak.Quality},
			},
		}
		t := report.Table{
			Caption: "Two-model scores (higher APGR is better; lower CPT is better)",
			Header:  []string{"router", "APGR", "APGR 95% CI", "CPT(20%)", "CPT(50%)", "CPT(50%) 95% CI", "CPT(80%)", "AUC"},
		}
		for _, n := range names {
			r := in.out[n]
			curve, dashed := r.Curve, false
			if n == "random" {
				curve, dashed = in.randomCurve, true
			}
			p.Plot.Series = append(p.Plot.Series, report.Series{Name: n, Points: curve, Dashed: dashed})
			t.Rows = append(t.Rows, []string{n, f(r.APGR, "%.3f"), ciCell(r, "apgr", "[%.3f, %.3f]"), pct(r.CPT20), pct(r.CPT50),
				ciCell(r, "cpt50", "[%.1f%%, %.1f%%]"), pct(r.CPT80), f(r.AUC, "%.4f")})
		}
		p.Tables = []report.Table{t}
		p.Notes = []string{
			"APGR: average performance gap recovered, the area under the curve rescaled so that the weak model is 0 and the strong model 1; random routing scores 0.5.",
			"CPT(x%): the smallest share of strong calls at which a router recovers x% of the quality gap between the weak and the strong model.",
			"Curves run over quantile thresholds of each router's strong-win score; random is the mean of random routers (dashed).",
		}
		return p
	}

	b := mm.Singles[mm.Best]
	p.Mode = fmt.Sprintf("Many-model mode: %d models with costs", len(in.models))
	p.Summary = []string{
		fmt.Sprintf("Best single model %s: mean score %.4f at $%.6f per query. Oracle: %.4f at $%.6f per query.",
			b.Model, b.Quality, b.Cost, mm.Oracle.Quality, mm.Oracle.Cost),
	}
	p.Plot = report.Plot{
		Title:  "Average quality against average cost per query: each router's curve sweeps its price of quality lambda.",
		XLabel: "average cost (USD/query)",
		YLabel: "average quality (mean score)",
	}
	t := report.Table{
		Caption: "Cost-quality scores (quality at and cost of the best single model's point)",
		Header:  []string{"router", "quality at best cost", "95% CI", "cost at best quality (USD/query)", "saving", "AIQ", "AIQ 95% CI"},
	}
	for _, n := range names {
		r := in.out[n]
		if n != "random" {
			p.Plot.Series = append(p.Plot.Series, report.Series{Name: n, Points: r.Curve})
		}
		t.Rows = append(t.Rows, []string{n, f(r.QualityAtBestCost, "%.4f"), ciCell(r, "quality_at_best_cost", "[%.4f, %.4f]"),
			f(r.CostAtBestQuality, "$%.6f"), pct(r.Saving), f(r.AIQ, "%.4f"), ciCell(r, "aiq", "[%.4f, %.4f]")})
	}
	var hull [][2]float64
	for _, h := range mm.ZeroHull {
		hull = append(hull, [2]float64{h.Cost, h.Quality})
	}
	p.Plot.Series = append(p.Plot.Series, report.Series{Name: "random", Points: hull, Dashed: true})
	ref := report.Table{
		Caption: "Single models and the oracle",
		Header:  []string{"model", "cost (USD/query)", "mean score", ""},
	}
	for i, s := range mm.Singles {
		p.Plot.Points = append(p.Plot.Points, report.LabelledPoint{Label: s.Model, Kind: "single model", X: s.Cost, Y: s.Quality})
		mark := ""
		if i == mm.Best {
			mark = "best single model"
		}
		ref.Rows = append(ref.Rows, []string{s.Model, fmt.Sprintf("$%.6f", s.Cost), fmt.Sprintf("%.4f", s.Quality), mark})
	}
	p.Plot.Points = append(p.Plot.Points, report.LabelledPoint{Label: "oracle", Kind: "oracle", X: mm.Oracle.Cost, Y: mm.Oracle.Quality})
	ref.Rows = append(ref.Rows,
		[]string{"oracle (each prompt's best model)", fmt.Sprintf("$%.6f", mm.Oracle.Cost), fmt.Sprintf("%.4f", mm.Oracle.Quality), "ceiling"},
		[]string{"zero router (random mixtures)", "-", "-", fmt.Sprintf("AIQ %.4f", mm.ZeroAIQ)})
	p.Tables = []report.Table{t, ref}
	p.Notes = []string{
		"Quality at best cost: the best average quality on a router's curve at no more than the best single model's cost; cost at best quality: the lowest cost reaching its quality, and saving = 1 - that cost / its cost.",
		"AIQ: the average height of the router's non-decreasing convex hull over the single models' cost range. random (dashed) is the zero-router hull: random mixtures of single models.",
	}
	if p.Plot.LogX() {
		p.Notes = append(p.Notes, fmt.Sprintf("The cost axis is logarithmic: costs span more than %dx.", report.AutoLogRatio))
	}
	return p
}

// writeReport writes the HTML page to file.
func writeReport(file string, p *report.Page) error {
	var buf bytes.Buffer
	if err := report.Write(&buf, p); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// ciCell formats the 95% interval of statistic key for a report table,
// or "-" when there is none. Shares (cpt*) are shown in percent.
func ciCell(r routerScores, key, format string) string {
	c, ok := r.CI95[key]
	if !ok {
		return "-"
	}
	if strings.HasPrefix(key, "cpt") {
		c[0], c[1] = 100*c[0], 100*c[1]
	}
	return fmt.Sprintf(format, c[0], c[1])
}
