package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
)

func calibrateCommand() *command {
	return &command{
		name:  "calibrate",
		usage: "--artifact DIR --data FILE... (--strong-share S | --target-cost USD | --target-quality Q) [--strong M --weak M] --out NEWDIR",
		short: "set an artifact's policy for a target share of strong calls, cost or quality",
		long: `Scores the prompts of the calibration data (outcomes or battles; only the
prompt texts are used) with the artifact's router and writes a new artifact,
identical but for the policy and a "calibration" record in the
hyperparameters. The original is untouched.

--strong-share S (two models: the artifact's threshold policy, or --strong and
--weak): a threshold policy whose threshold is the k-th largest win score
(1 + P(strong) - P(weak)) / 2 over the calibration prompts, k = round(S *
prompts), so that share of prompts has a win score >= the threshold (more when
scores tie at it). Serving and eval compare the same win score.

--target-cost USD: a utility policy (argmax P - lambda * cost, the manifest's
costs) with the smallest lambda whose mean expected cost per calibration
prompt is at most USD: the best predicted quality within the budget.
--target-quality Q: the largest lambda whose mean predicted quality (the chosen
model's P) is at least Q: the lowest cost at that quality. Lambda is found by
bisection on a log scale (cost and quality both fall as lambda grows).`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			fs.Var(&rf.in, "data", "calibration data `file` (repeatable; same as --in)")
			dir := fs.String("artifact", "", "artifact `directory` to calibrate")
			out := fs.String("out", "", "new artifact `directory` to create")
			share := fs.Float64("strong-share", -1, "target share of prompts routed to the strong model, in [0, 1]")
			cost := fs.Float64("target-cost", -1, "target mean cost per query in USD")
			quality := fs.Float64("target-quality", -1, "target mean predicted quality")
			strong := fs.String("strong", "", "strong model (default: the artifact's threshold policy's)")
			weak := fs.String("weak", "", "weak model (default: the artifact's threshold policy's)")
			var of onnxFlags
			of.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if *dir == "" {
					return usagef("--artifact is required")
				}
				if *out == "" {
					return usagef("--out is required")
				}
				n := 0
				for _, v := range []float64{*share, *cost, *quality} {
					if v >= 0 {
						n++
					}
				}
				if n != 1 {
					return usagef("give exactly one of --strong-share, --target-cost and --target-quality")
				}
				if *share > 1 {
					return usagef("--strong-share %v: want a share in [0, 1]", *share)
				}
				if (*strong == "") != (*weak == "") {
					return usagef("--strong and --weak go together")
				}
				if _, err := os.Stat(*out); err == nil {
					return fmt.Errorf("%s already exists: artifacts are never overwritten", *out)
				}
				opt, inputs, _, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				onnx, err := of.config()
				if err != nil {
					return err
				}
				l, err := artifact.Load(ctx, *dir, onnx)
				if err != nil {
					return err
				}
				defer l.Close()
				texts, err := readPromptTexts(ctx, e, opt, inputs)
				if err != nil {
					return err
				}
				emb, err := l.Encoder.Encode(ctx, texts)
				if err != nil {
					return err
				}
				names := l.Router.Scorer.Models()
				scores := make([][]float64, len(emb))
				for i, v := range emb {
					scores[i] = make([]float64, len(names))
					l.Router.Scorer.Score(v, scores[i])
				}
				old := l.Router.Policy
				var pol models.Policy
				rec := map[string]any{"prompts": len(texts), "data": inputs}
				switch {
				case *share >= 0:
					s, w := *strong, *weak
					if s == "" {
						if old.Kind != models.PolicyThreshold {
							return usagef("--strong-share: the artifact's policy is %s, not threshold: give --strong and --weak", old.Kind)
						}
						s, w = old.Strong, old.Weak
					}
					si, wi := -1, -1
					for i, m := range names {
						switch m {
						case s:
							si = i
						case w:
							wi = i
						}
					}
					pol = models.Policy{Kind: models.PolicyThreshold, Strong: s, Weak: w, MaxCost: old.MaxCost}
					if old.Kind == models.PolicyThreshold && old.Strong == s && old.Weak == w {
						pol = old
					}
					if err := pol.Validate(names); err != nil {
						return err
					}
					win := make([]float64, len(scores))
					for i, sc := range scores {
						win[i] = models.WinScore(sc, si, wi)
					}
					th, got, err := models.ThresholdForShare(win, *share)
					if err != nil {
						return err
					}
					pol.Threshold = th
					rec["target"], rec["strong_share"], rec["achieved_share"] = "strong_share", *share, got
					fmt.Fprintf(e.stdout, "threshold %.6g: %.1f%% of %d calibration prompts go to %s (target %.1f%%)\n", th, 100*got, len(texts), s, 100**share)
				default:
					var u models.UtilityOutcome
					if *cost >= 0 {
						u, err = models.LambdaForCost(scores, l.Router.Costs, *cost, old.MaxCost)
						rec["target"], rec["target_cost"] = "cost", *cost
					} else {
						u, err = models.LambdaForQuality(scores, l.Router.Costs, *quality, old.MaxCost)
						rec["target"], rec["target_quality"] = "quality", *quality
					}
					if err != nil {
						return err
					}
					pol = models.Policy{Kind: models.PolicyUtility, Lambda: u.Lambda, MaxCost: old.MaxCost}
					rec["achieved_cost"], rec["achieved_quality"] = u.Cost, u.Quality
					fmt.Fprintf(e.stdout, "lambda %.6g: mean cost $%.6g per query, mean predicted quality %.4f over %d calibration prompts\n", u.Lambda, u.Cost, u.Quality, len(texts))
				}
				m, blobs, err := artifact.Read(*dir)
				if err != nil {
					return err
				}
				hyper := make(map[string]any, len(m.Hyperparameters)+1)
				for k, v := range m.Hyperparameters {
					hyper[k] = v
				}
				hyper["calibration"] = rec
				m.Hyperparameters, m.Policy = hyper, pol
				if err := artifact.Write(*out, *m, blobs); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote %s\n", *out)
				return nil
			}
		},
	}
}

// readPromptTexts reads the distinct prompts (by prompt id) of outcomes
// and battles, in order of first appearance.
func readPromptTexts(ctx context.Context, e *env, opt data.Options, inputs []string) ([]string, error) {
	seen := map[string]bool{}
	var texts []string
	add := func(id, text string) {
		if !seen[id] {
			seen[id] = true
			texts = append(texts, text)
		}
	}
	h := data.Handler{
		Outcome: func(o *data.Outcome) error { add(o.PromptID, o.Prompt); return nil },
		Battle:  func(b *data.Battle) error { add(b.PromptID, b.Prompt); return nil },
	}
	if _, err := readAll(ctx, e, opt, inputs, h); err != nil {
		return nil, err
	}
	if len(texts) == 0 {
		return nil, errors.New("no prompts in the calibration data")
	}
	return texts, nil
}
