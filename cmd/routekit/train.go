package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/routekit/routekit/cmd/routekit/internal/progress"
	"github.com/routekit/routekit/irt"
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
		usage: "--router knn|mf|irt|bert --data FILE... [--catalog C] [--encoder SPEC] (--out DIR | --registry ROOT --name N [--promote])",
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
			router := fs.String("router", "knn", "router kind: knn, mf, irt or bert")
			out := fs.String("out", "", "artifact `directory` to create")
			regRoot := fs.String("registry", "", "registry root `directory`: add the artifact as the next version of --name instead of --out")
			regName := fs.String("name", "", "router `name` in the --registry")
			promote := fs.Bool("promote", false, "with --registry: make the new version CURRENT (the first version always is)")
			cache := fs.String("cache", "", "embedding cache `file` to reuse and update")
			val := fs.Float64("val", 0.1, "share of prompts held out for validation")
			seed := fs.Uint64("seed", 1, "seed of the split and the training")
			knnK := fs.Int("knn-k", 0, "knn: neighbours (default 40)")
			mfDim := fs.Int("mf-dim", 0, "mf: model embedding dimension (default 128)")
			bertHidden := fs.Int("bert-hidden", 0, "bert: width of the hidden layer (default 128)")
			bertHead := fs.String("bert-head", "", "bert: head, multilabel (default; any number of models) or 3way (RouteLLM's, two models)")
			epochs := fs.Int("epochs", 0, "mf, bert: maximum epochs (default: the trainer's; early stopping on validation)")
			config := fs.String("config", "", "YAML `file` of hyperparameters (router, seed, val, knn, mf, irt, bert sections); flags win over it")
			return func(ctx context.Context, e *env, args []string) error {
				var tf *trainFile
				if *config != "" {
					var err error
					if tf, err = loadTrainFile(*config); err != nil {
						return err
					}
				}
				tc, err := resolveTrainConfigs(tf, fs, *router, *seed, *val, *knnK, *mfDim, *epochs, *bertHidden, *bertHead)
				if err != nil {
					return err
				}
				*router, *seed, *val = tc.router, tc.seed, tc.val
				opt, inputs, cat, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				var reg *artifact.Registry
				switch {
				case (*out == "") == (*regRoot == ""):
					return usagef("give exactly one of --out and --registry")
				case *regRoot != "":
					if *regName == "" {
						return usagef("--registry needs --name")
					}
					if err := artifact.CheckName(*regName); err != nil {
						return usagef("--name: %v", err)
					}
					if reg, err = artifact.OpenRegistry(*regRoot); err != nil {
						return err
					}
				case *regName != "" || *promote:
					return usagef("--name and --promote go with --registry")
				}
				if _, err := os.Stat(*out); *out != "" && err == nil {
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
				// A fitted built-in encoder goes into the artifact itself; it is
				// saved elsewhere only when --save-encoder asks.
				enc, err := ef.open(ctx, e, trainTexts, "")
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
					cfg := tc.knn
					k, err := train.TrainKNN(ds, emb, notMask(isVal), cfg)
					if err != nil {
						return err
					}
					sc = k
					hyper["k"], hyper["prior_weight"] = k.Config().K, k.Config().PriorWeight
					hyper["config"] = cfg
				case "mf":
					cfg := tc.mf
					pairs, points := trainRecords(ds, isVal)
					maxEpochs := cfg.Epochs
					if maxEpochs == 0 {
						maxEpochs = train.DefaultMFConfig().Epochs
					}
					// The ETA is an upper bound: early stopping usually ends sooner.
					bar := progress.New(e.stderr, "mf", int64(maxEpochs), "epochs")
					m, rep, err := train.TrainMF(ctx, emb, ds.Models, pairs, points, cfg, train.Hooks{OnEpoch: func(s train.EpochStats) {
						bar.SetLabel(fmt.Sprintf("mf epoch %d: train loss %.4f, val loss %.4f, val acc %.3f", s.Epoch, s.TrainLoss, s.ValLoss, s.ValAccuracy))
						bar.Update(int64(s.Epoch))
						e.log.Debug("epoch", "epoch", s.Epoch, "train_loss", s.TrainLoss, "val_loss", s.ValLoss, "val_accuracy", s.ValAccuracy)
					}})
					bar.Done()
					if err != nil {
						return err
					}
					sc = m
					hyper["dim"], hyper["epochs"], hyper["best_epoch"] = m.Dim, rep.Epochs, rep.BestEpoch
					hyper["config"] = cfg
				case "irt":
					cfg := tc.irt
					prompts, scores := train.PointScores(ds, notMask(isVal))
					var resp []irt.Response
					for r, p := range prompts {
						for mi, y := range scores[r] {
							if !math.IsNaN(y) {
								resp = append(resp, irt.Response{Prompt: p, Model: mi, Score: y})
							}
						}
					}
					bar := progress.New(e.stderr, "irt", 0, "iterations")
					p, rep, err := irt.Fit(ctx, emb, ds.Models, resp, cfg, func(f irt.FitProgress) {
						bar.SetLabel(fmt.Sprintf("irt iteration %d: objective %.4f, val log-loss %.4f", f.Iter, f.Objective, f.ValLogLoss))
						bar.Update(int64(f.Iter))
					})
					bar.Done()
					if err != nil {
						return err
					}
					sc = &models.IRT{P: p}
					hyper["dims"], hyper["iterations"], hyper["optimizer"] = p.K, rep.Iterations, string(rep.Optimizer)
					hyper["l2"], hyper["l2_theta"], hyper["config"] = rep.L2, rep.L2Theta, cfg
				case "bert":
					cfg := tc.bert
					if cfg.Head == train.Head3Way {
						if len(ds.Models) != 2 {
							return fmt.Errorf("--bert-head %s: the data has %d models, the head needs 2 (use %s)", train.Head3Way, len(ds.Models), train.HeadMultiLabel)
						}
						// RouteLLM's strong model is the more expensive one.
						strong := 0
						if ds.Costs[1] > ds.Costs[0] {
							strong = 1
						}
						cfg.Strong = ds.Models[strong]
					}
					pairs, points := trainRecords(ds, isVal)
					maxEpochs := cfg.Epochs
					if maxEpochs == 0 {
						maxEpochs = train.DefaultBERTConfig().Epochs
					}
					bar := progress.New(e.stderr, "bert", int64(maxEpochs), "epochs")
					m, rep, err := train.TrainBERT(ctx, emb, ds.Models, pairs, points, cfg, train.Hooks{OnEpoch: func(s train.EpochStats) {
						bar.SetLabel(fmt.Sprintf("bert epoch %d: train loss %.4f, val loss %.4f, val acc %.3f", s.Epoch, s.TrainLoss, s.ValLoss, s.ValAccuracy))
						bar.Update(int64(s.Epoch))
						e.log.Debug("epoch", "epoch", s.Epoch, "train_loss", s.TrainLoss, "val_loss", s.ValLoss, "val_accuracy", s.ValAccuracy)
					}})
					bar.Done()
					if err != nil {
						return err
					}
					sc = m
					hyper["head"], hyper["layers"] = m.Head, len(m.Layers)-1
					if len(m.Layers) > 1 {
						hyper["hidden"] = m.Layers[0].Out
					}
					hyper["epochs"], hyper["best_epoch"], hyper["config"] = rep.Epochs, rep.BestEpoch, cfg
					// The head's own validation metrics (for 3way: the class
					// cross-entropy and accuracy, which the per-model scores
					// below do not measure).
					if !math.IsNaN(rep.ValLoss) {
						hyper["val_loss"] = rep.ValLoss
					}
					if !math.IsNaN(rep.ValAccuracy) {
						hyper["val_accuracy"] = rep.ValAccuracy
					}
				default:
					return usagef("--router %q: want knn, mf, irt or bert", *router)
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
				wrote := *out
				if reg != nil {
					if wrote, err = addToRegistry(reg, *regName, *promote, m, blobs); err != nil {
						return err
					}
				} else if err := artifact.Write(*out, m, blobs); err != nil {
					return err
				}
				vj, _ := json.Marshal(scores)
				fmt.Fprintf(e.stdout, "trained %s on %d prompts x %d models (%d answers, %d battles); validation on %d prompts: %s\n",
					*router, len(ds.Prompts), len(ds.Models), len(ds.Points), len(ds.Pairs), countTrue(isVal), vj)
				fmt.Fprintf(e.stdout, "wrote %s\n", wrote)
				return nil
			}
		},
	}
}

// trainRecords returns the battles and graded answers of training prompts.
func trainRecords(ds *train.Dataset, isVal []bool) ([]train.Pair, []train.Point) {
	var pairs []train.Pair
	var points []train.Point
	for _, p := range ds.Pairs {
		if !isVal[p.Prompt] {
			pairs = append(pairs, p)
		}
	}
	for _, p := range ds.Points {
		if !isVal[p.Prompt] {
			points = append(points, p)
		}
	}
	return pairs, points
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
