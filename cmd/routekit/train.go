package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
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
			finetune := fs.Bool("finetune", false, "bert with --encoder onnx:DIR: after training the head on frozen embeddings, fine-tune the\n"+
				"encoder with it (GoMLX, through onnx-gomlx) and store the fine-tuned encoder in the artifact.\n"+
				"Slow on the pure-Go backend: a step of 16 prompts x 32 tokens takes about 0.2 s for the 2-layer,\n"+
				"32-wide test BERT but about 70 s for a MiniLM-L6-sized one (an hour per epoch of 800 prompts); practical\n"+
				"for real encoders only with a GPU/XLA GoMLX backend ("+train.BackendEnv+")")
			ftEpochs := fs.Int("finetune-epochs", 0, "--finetune: maximum epochs of fine-tuning (default 3)")
			ftLR := fs.Float64("finetune-lr", 0, "--finetune: learning rate of fine-tuning (default 1e-4)")
			encRef := fs.Bool("encoder-ref", false, "with a frozen --encoder onnx:DIR: record DIR's absolute path in the artifact (manifest encoder_path)\n"+
				"instead of storing a copy of its files (the default, manifest encoder_files). Saves that copy, about 90 MB per\n"+
				"version for a MiniLM-sized encoder, for very large encoders shared by many versions; but the artifact is no longer\n"+
				"self-contained: it loads only where DIR exists with the same files, so copying the registry to another machine,\n"+
				"or moving, deleting or editing DIR, makes it fail to load")
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
				var encDir string
				if err := func() error {
					set := map[string]bool{}
					fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
					if spec, err := encoder.ParseSpec(ef.spec); *encRef && (err != nil || spec.Kind != "onnx" || *finetune) {
						return usagef("--encoder-ref goes with a frozen --encoder onnx:DIR, without --finetune (have --encoder %s)", ef.spec)
					}
					if !*finetune {
						if set["finetune-epochs"] || set["finetune-lr"] {
							return usagef("--finetune-epochs and --finetune-lr go with --finetune")
						}
						return nil
					}
					spec, err := encoder.ParseSpec(ef.spec)
					if err != nil {
						return usagef("--encoder: %v", err)
					}
					if *router != "bert" || spec.Kind != "onnx" {
						return usagef("--finetune needs --router bert and --encoder onnx:DIR (have --router %s, --encoder %s)", *router, ef.spec)
					}
					if *ftEpochs < 0 || *ftLR < 0 {
						return usagef("--finetune-epochs and --finetune-lr must not be negative")
					}
					encDir = spec.Path
					return nil
				}(); err != nil {
					return err
				}
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
				defer encoder.Close(enc)
				var ec *encoder.Cache
				toEncode := len(ds.Prompts)
				var cov encoder.Coverage
				if *cache != "" {
					if ec, err = encoder.LoadCache(ctx, *cache, enc.Identity(), enc.Dim()); err != nil {
						return err
					}
					cov = ec.Check(ds.Prompts, ds.Texts)
					toEncode = cov.Encode()
				}
				bar := progress.New(e.stderr, "embedding", int64(toEncode), "prompts")
				emb, nEnc, err := ds.Embed(ctx, enc, ec, encoder.EmbedConfig{Batch: ef.batch, Progress: func(d, _ int) { bar.Update(int64(d)) }})
				bar.Done()
				if err != nil {
					return err
				}
				if ec != nil {
					// Rows of other encoders (e.g. the one 'embed' fitted on all
					// prompts, where this run refits on train-minus-val) are kept.
					if err := ec.Save(*cache); err != nil {
						return err
					}
					logCacheUse(e, *cache, ec, cov, nEnc)
				}
				start := time.Now()
				var sc trainedScorer
				encID := enc.Identity()
				var encFiles map[string][]byte // a fine-tuned encoder, stored in the artifact
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
					hyper["config"] = cfg.Effective()
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
					hyper["config"] = cfg.Effective()
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
					// With model selection, the configuration of the returned fit.
					eff := cfg.Effective()
					eff.Dims, eff.L2, eff.L2Theta = p.K, rep.L2, rep.L2Theta
					hyper["l2"], hyper["l2_theta"], hyper["config"] = rep.L2, rep.L2Theta, eff
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
					if *finetune {
						maxEpochs += cmp.Or(*ftEpochs, train.DefaultFinetuneConfig().Epochs)
					}
					bar := progress.New(e.stderr, "bert", int64(maxEpochs), "epochs")
					hooks := train.Hooks{OnEpoch: func(s train.EpochStats) {
						bar.SetLabel(fmt.Sprintf("bert epoch %d: train loss %.4f, val loss %.4f, val acc %.3f", s.Epoch, s.TrainLoss, s.ValLoss, s.ValAccuracy))
						bar.Update(int64(s.Epoch))
						e.log.Debug("epoch", "epoch", s.Epoch, "train_loss", s.TrainLoss, "val_loss", s.ValLoss, "val_accuracy", s.ValAccuracy)
					}}
					var m *models.MLP
					var rep *train.Report
					if *finetune {
						fcfg := train.FinetuneConfig{Head: cfg, Epochs: *ftEpochs, LearningRate: *ftLR}
						m, rep, emb, encID, encFiles, err = finetuneBERT(ctx, e, enc, encDir, ds, pairs, points, fcfg, ef, hooks)
						if err == nil {
							hyper["finetune"] = struct {
								train.FinetuneConfig
								BestEpoch int `json:"best_epoch"`
							}{fcfg.Effective(), rep.BestEpoch}
						}
					} else {
						m, rep, err = train.TrainBERT(ctx, emb, ds.Models, pairs, points, cfg, hooks)
					}
					bar.Done()
					if err != nil {
						return err
					}
					sc = m
					hyper["head"], hyper["layers"] = m.Head, len(m.Layers)-1
					if len(m.Layers) > 1 {
						hyper["hidden"] = m.Layers[0].Out
					}
					hyper["epochs"], hyper["best_epoch"], hyper["config"] = rep.Epochs, rep.BestEpoch, cfg.Effective()
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
					Router: *router, Created: time.Now().UTC(), Encoder: encID, ScorerBlob: "scorer.bin",
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
				if encFiles != nil {
					if err := artifact.AddEncoderFiles(&m, blobs, encFiles); err != nil {
						return err
					}
				} else if spec, err := encoder.ParseSpec(ef.spec); err == nil && spec.Kind == "onnx" {
					if *encRef {
						// --encoder-ref: a frozen ONNX encoder stays in its model
						// directory; the artifact names it, and loading checks its identity.
						if m.EncoderPath, err = filepath.Abs(spec.Path); err != nil {
							return err
						}
					} else if err := artifact.AddEncoderDir(ctx, &m, blobs, spec.Path, ef.onnx); err != nil {
						// The artifact holds a copy of the model directory, as for a
						// fine-tuned encoder, so that it loads anywhere.
						return fmt.Errorf("storing the encoder %s in the artifact (--encoder-ref references it instead): %w", spec.Path, err)
					}
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

// finetuneBERT trains a bert router with its ONNX encoder (opened from
// encDir) fine-tuned, and returns the head, the fine-tuning report, the
// prompts' embeddings by the fine-tuned encoder with its identity, and its
// model directory's files.
func finetuneBERT(ctx context.Context, e *env, enc encoder.Encoder, encDir string, ds *train.Dataset, pairs []train.Pair, points []train.Point,
	cfg train.FinetuneConfig, ef encoderFlags, hooks train.Hooks) (*models.MLP, *train.Report, [][]float32, encoder.Identity, map[string][]byte, error) {
	fail := func(err error) (*models.MLP, *train.Report, [][]float32, encoder.Identity, map[string][]byte, error) {
		return nil, nil, nil, encoder.Identity{}, nil, err
	}
	o, ok := enc.(*encoder.ONNX)
	if !ok {
		return fail(usagef("--finetune needs an onnx:DIR encoder"))
	}
	res, err := train.FinetuneBERT(ctx, o, encDir, ds.Texts, ds.Models, pairs, points, cfg, hooks)
	if err != nil {
		return fail(err)
	}
	e.log.Info("fine-tuned the encoder", "frozen_val_loss", res.HeadReport.ValLoss, "val_loss", res.Report.ValLoss,
		"best_epoch", res.Report.BestEpoch, "seconds", res.Report.Duration.Seconds())
	// Open the fine-tuned encoder as serving will, for its identity and
	// the embeddings the validation scores are computed on.
	tuned, err := encoder.NewONNXFromFiles(ctx, res.Files, ef.onnx)
	if err != nil {
		return fail(fmt.Errorf("opening the fine-tuned encoder: %w", err))
	}
	defer tuned.Close()
	emb, _, err := ds.Embed(ctx, tuned, nil, encoder.EmbedConfig{Batch: ef.batch})
	if err != nil {
		return fail(err)
	}
	return res.Head, res.Report, emb, tuned.Identity(), res.Files, nil
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
