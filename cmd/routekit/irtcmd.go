package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"unicode/utf8"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/irt"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
)

func irtCommand() *command {
	return &command{
		name:  "irt",
		short: "operate on IRT routers",
		subs:  []*command{irtAddModelCommand()},
	}
}

func irtAddModelCommand() *command {
	return &command{
		name:  "add-model",
		usage: "--artifact DIR --answers FILE --model NAME (--cost USD | --catalog C) --out NEWDIR",
		short: "add a model to an IRT router from its graded answers, without retraining",
		long: `Reads the new model's graded answers (outcomes: prompt, model, score; rows of
other models are ignored; at least 50 answers), embeds their prompts with the
artifact's encoder and fits only the new model's ability with every item
parameter frozen (a MAP estimate under a prior from the fitted models'
abilities). Writes a new artifact with the model added to the manifest (with
its cost) and to the scorer; the policy is unchanged. The cost is --cost, else
the catalog's price, else the mean recorded cost of the answers.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			dir := fs.String("artifact", "", "IRT artifact `directory`")
			answers := fs.String("answers", "", "graded answers `file` of the new model (outcomes)")
			name := fs.String("model", "", "the new model's `name`")
			cost := fs.Float64("cost", -1, "the new model's expected cost per query in USD")
			catalog := fs.String("catalog", "", "model catalog `file` pricing the new model (when --cost is not given)")
			out := fs.String("out", "", "new artifact `directory` to create")
			prior := fs.Float64("prior-scale", 1, "multiplier of the ability prior's standard deviations (larger trusts the answers more)")
			var of onnxFlags
			of.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				switch {
				case *dir == "":
					return usagef("--artifact is required")
				case *answers == "":
					return usagef("--answers is required")
				case *name == "":
					return usagef("--model is required")
				case *out == "":
					return usagef("--out is required")
				}
				onnx, err := of.config()
				if err != nil {
					return err
				}
				if _, err := os.Stat(*out); err == nil {
					return fmt.Errorf("%s already exists: artifacts are never overwritten", *out)
				}
				m, blobs, err := artifact.Read(*dir)
				if err != nil {
					return err
				}
				if m.Router != "irt" {
					return fmt.Errorf("artifact %s is a %s router: irt add-model needs an irt router", *dir, m.Router)
				}
				sc, err := artifact.Scorer(m, blobs)
				if err != nil {
					return fmt.Errorf("artifact %s: %w", *dir, err)
				}
				ir, ok := sc.(*models.IRT)
				if !ok {
					return fmt.Errorf("artifact %s: the scorer is not an IRT scorer", *dir)
				}
				if ir.P.ModelIndex(*name) >= 0 {
					return fmt.Errorf("model %s is already in artifact %s", *name, *dir)
				}
				var cat *data.Catalog
				if *catalog != "" {
					if cat, err = data.LoadCatalog(*catalog); err != nil {
						return err
					}
				}
				ds, _, err := data.ReadFiles(ctx, []string{*answers}, data.Options{Dedup: true})
				if err != nil {
					return err
				}
				var texts []string
				var resp []irt.Response
				index := map[string]int{}
				costSum, costN, chars := 0.0, 0, 0
				for _, o := range ds.Outcomes {
					if o.Model != *name {
						continue
					}
					i, ok := index[o.PromptID]
					if !ok {
						i = len(texts)
						index[o.PromptID] = i
						texts = append(texts, o.Prompt)
						chars += utf8.RuneCountInString(o.Prompt)
					}
					resp = append(resp, irt.Response{Prompt: i, Score: o.Score})
					if o.HasCost {
						costSum += o.Cost
						costN++
					}
				}
				if len(resp) < irt.MinAbilityResponses {
					return fmt.Errorf("%s: %d graded answers of model %s, want at least %d", *answers, len(resp), *name, irt.MinAbilityResponses)
				}
				c := *cost
				switch {
				case c >= 0:
				case cat != nil:
					mi, ok := cat.Lookup(*name)
					if !ok {
						return fmt.Errorf("model %s: %w", *name, data.ErrUnknownModel)
					}
					if c, err = mi.QueryCost(chars / len(texts)); err != nil {
						return err
					}
				case costN > 0:
					c = costSum / float64(costN)
				default:
					return usagef("model %s has no cost: give --cost or --catalog", *name)
				}
				if math.IsNaN(c) || math.IsInf(c, 0) {
					return fmt.Errorf("model %s: cost %v is not a finite number", *name, c)
				}
				enc, err := artifact.Encoder(ctx, m, blobs, onnx)
				if err != nil {
					return fmt.Errorf("artifact %s: %w", *dir, err)
				}
				defer encoder.Close(enc)
				emb, err := enc.Encode(ctx, texts)
				if err != nil {
					return err
				}
				theta, rep, err := irt.FitAbility(ctx, ir.P, emb, resp, irt.AbilityConfig{PriorScale: *prior})
				if err != nil {
					return err
				}
				np, err := ir.P.AddModel(*name, theta)
				if err != nil {
					return err
				}
				mi := np.ModelIndex(*name)
				pred, emp := 0.0, 0.0
				for _, r := range resp {
					pred += np.Prob(mi, emb[r.Prompt])
					emp += r.Score
				}
				pred /= float64(len(resp))
				emp /= float64(len(resp))
				blob, err := (&models.IRT{P: np}).MarshalBinary()
				if err != nil {
					return err
				}
				nb := make(map[string][]byte, len(blobs))
				for k, v := range blobs {
					nb[k] = v
				}
				nb[m.ScorerBlob] = blob
				m.Models = append(m.Models, artifact.Model{Name: *name, Cost: c})
				hyper := make(map[string]any, len(m.Hyperparameters)+1)
				for k, v := range m.Hyperparameters {
					hyper[k] = v
				}
				var added []any
				if a, ok := hyper["added_models"].([]any); ok {
					added = a
				}
				hyper["added_models"] = append(added, map[string]any{
					"model": *name, "answers": len(resp), "prompts": len(texts), "cost": c,
					"log_loss": rep.LogLoss, "mean_predicted": pred, "mean_score": emp,
				})
				m.Hyperparameters = hyper
				// The policy is unchanged; check it still holds.
				if err := m.Policy.Validate(np.Models); err != nil {
					return err
				}
				if err := artifact.Write(*out, *m, nb); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "fitted the ability of %s from %d answers on %d prompts (%d Newton iterations): mean predicted P %.4f vs mean score %.4f, log-loss %.4f\n",
					*name, len(resp), len(texts), rep.Iterations, pred, emp, rep.LogLoss)
				if len(rep.StdErr) > 0 {
					fmt.Fprintf(e.stdout, "  ability %s, std. err. %s\n", fmtVec(theta), fmtVec(rep.StdErr))
				}
				fmt.Fprintf(e.stdout, "wrote %s (%d models; %s at $%.6g per query)\n", *out, len(np.Models), *name, c)
				return nil
			}
		},
	}
}

func fmtVec(v []float64) string {
	s := "["
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.3f", x)
	}
	return s + "]"
}
