package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/routekit/routekit/cmd/routekit/internal/progress"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/train"
)

// trainedScorer is what every router kind's training returns.
type trainedScorer interface {
	models.Scorer
	MarshalBinary() ([]byte, error)
}

func trainCommand() *command {
	return &command{
		name:  "train",
		usage: "--router knn|mf|irt --data FILE... [--catalog C] [--encoder SPEC] --out DIR",
		short: "train a router and write it as an artifact",
		long: `Reads outcomes and battles, embeds the prompts (the built-in encoder is fitted on
the training prompts; --cache reuses an embedding cache), holds out a share of
the prompts (by hash) for validation and early stopping, trains, and writes the
artifact: manifest.json with the models and their costs, the encoder identity,
the data fingerprint, hyperparameters, validation scores and the default
policy, plus the weights. Every model needs a cost, from the data or the catalog.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			fs.Var(&rf.in, "data", "training data `file` (repeatable; same as --in)")
			var ef encoderFlags
			ef.register(fs)
			router := fs.String("router", "knn", "router kind: knn")
			out := fs.String("out", "", "artifact `directory` to create")
			cache := fs.String("cache", "", "embedding cache `file` to reuse and update")
			val := fs.Float64("val", 0.1, "share of prompts held out for validation")
			seed := fs.Uint64("seed", 1, "seed of the split and the training")
			knnK := fs.Int("knn-k", 0, "knn: neighbours (default 40)")
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, cat, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				if *out == "" {
					return usagef("--out is required")
				}
				if _, err := os.Stat(*out); err == nil {
					return fmt.Errorf("%s already exists: artifacts are never overwritten", *out)
				}
				b := train.NewBuilder()
				rep, err := readAll(ctx, e, opt, inputs, b.Handler())
				if err != nil {
					return err
				}
				ds, err := b.Build(cat)
				if err != nil {
					return err
				}
				isVal := ds.SplitPrompts(*val, *seed)
				var trainTexts []string
				for i, t := range ds.Texts {
					if !isVal[i] {
						trainTexts = append(trainTexts, t)
					}
				}
				tmpEnc := filepath.Join(os.TempDir(), fmt.Sprintf("routekit-encoder-%d.bin", os.Getpid()))
				defer os.Remove(tmpEnc)
				ef.save = tmpEnc
				enc, err := ef.open(ctx, e, trainTexts, tmpEnc)
				if err != nil {
					return err
				}
				defer closeEncoder(enc)
				var ec *encoder.Cache
				if *cache != "" {
					if ec, err = encoder.LoadCache(ctx, *cache, enc.Identity(), enc.Dim()); err != nil {
						return err
					}
				}
				bar := progress.New(e.stderr, "embedding", int64(len(ds.Prompts)), "prompts")
				emb, _, err := ds.Embed(ctx, enc, ec, encoder.EmbedConfig{Batch: ef.batch, Progress: func(d, _ int) { bar.Update(int64(d)) }})
				bar.Done()
				if err != nil {
					return err
				}
				if ec != nil {
					if err := ec.Save(*cache); err != nil {
						return err
					}
				}
				start := time.Now()
				var sc trainedScorer
				hyper := map[string]any{"val_fraction": *val}
				switch *router {
				case "knn":
					cfg := models.KNNConfig{K: *knnK}
					k, err := train.TrainKNN(ds, emb, notMask(isVal), cfg)
					if err != nil {
						return err
					}
					sc = k
					hyper["k"], hyper["prior_weight"] = k.Config().K, k.Config().PriorWeight
				default:
					return usagef("--router %q: want knn", *router)
				}
				scores := train.Evaluate(sc, ds, emb, isVal)
				e.log.Info("trained", "router", *router, "seconds", time.Since(start).Seconds())

				blob, err := sc.MarshalBinary()
				if err != nil {
					return err
				}
				blobs := map[string][]byte{"scorer.bin": blob}
				m := artifact.Manifest{
					Router: *router, Created: time.Now().UTC(), Encoder: enc.Identity(), ScorerBlob: "scorer.bin",
					Seed: *seed, Hyperparameters: hyper, Validation: scoresMap(scores),
					Data:   artifact.DataFingerprint{Files: inputs, Rows: rep.Rows, Prompts: len(ds.Prompts), SHA256: ds.Fingerprint},
					Policy: defaultPolicy(ds),
				}
				for i, name := range ds.Models {
					m.Models = append(m.Models, artifact.Model{Name: name, Cost: ds.Costs[i]})
				}
				if bi, ok := enc.(*encoder.Builtin); ok {
					eb, err := bi.MarshalBinary()
					if err != nil {
						return err
					}
					blobs["encoder.bin"], m.EncoderBlob = eb, "encoder.bin"
				}
				if err := artifact.Write(*out, m, blobs); err != nil {
					return err
				}
				vj, _ := json.Marshal(scores)
				fmt.Fprintf(e.stdout, "trained %s on %d prompts x %d models (%d answers, %d battles); validation on %d prompts: %s\n",
					*router, len(ds.Prompts), len(ds.Models), len(ds.Points), len(ds.Pairs), countTrue(isVal), vj)
				fmt.Fprintf(e.stdout, "wrote %s\n", *out)
				return nil
			}
		},
	}
}

func notMask(m []bool) []bool {
	out := make([]bool, len(m))
	for i, v := range m {
		out[i] = !v
	}
	return out
}

func countTrue(m []bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

func scoresMap(s train.Scores) map[string]float64 {
	m := map[string]float64{"points": float64(s.Points), "pairs": float64(s.Pairs)}
	for k, v := range map[string]float64{"log_loss": s.LogLoss, "brier": s.Brier, "auc": s.AUC, "pair_accuracy": s.PairAccuracy} {
		if !math.IsNaN(v) && v != 0 {
			m[k] = v
		}
	}
	return m
}

// defaultPolicy is the policy an artifact starts with: for two models,
// route to the more expensive one when its score is at least 0.5; for
// more, utility with lambda 0 (the best predicted quality). Calibration
// sets it for a target cost or share of strong calls.
func defaultPolicy(ds *train.Dataset) models.Policy {
	if len(ds.Models) == 2 {
		strong, weak := 0, 1
		if ds.Costs[1] > ds.Costs[0] {
			strong, weak = 1, 0
		}
		return models.Policy{Kind: models.PolicyThreshold, Strong: ds.Models[strong], Weak: ds.Models[weak], Threshold: 0.5}
	}
	return models.Policy{Kind: models.PolicyUtility}
}
