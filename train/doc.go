// Package train holds the training loops for routekit's routers: gradient
// training with GoMLX and numerical fitting with gonum, the hyperparameters
// of each router kind, and export of the trained parameters as artifacts that
// package models loads for inference.
//
// It also implements the champion/challenger gate: a newly trained router
// (the challenger) replaces the current one (the champion) only if it does
// better on held-out data by the configured margin, measured with package
// eval.
//
// # Matrix factorisation
//
// TrainMF fits RouteLLM's matrix-factorisation router (models.MF) for any
// number of models, on battles (Bradley–Terry loss), graded answers
// (pointwise binary cross-entropy with a per-model bias) or both. Its
// model is low-rank and its gradients have a closed form, so it does not
// use GoMLX: mini-batch AdamW in float32, the two Dim×D matrix products
// of each batch done by gonum's BLAS (float32 measured twice as fast as
// float64 there). One epoch over 100k battles with D = 256 and Dim = 128
// takes about 1.5 s on 2 cores (BenchmarkTrainMFEpoch), and early
// stopping ends a run after 10 to 20 epochs, so a full training takes well
// under a minute with cached embeddings. Hooks.OnEpoch reports progress.
//
// # BERT classifier
//
// TrainBERT fits the bert router (models.MLP): an MLP head on frozen
// prompt embeddings of any encoder, trained with GoMLX (Adam, mini-batches,
// early stopping on a validation split, best epoch kept, deterministic by
// seed). Its multi-label head predicts each model's P(good answer) from
// graded answers (masked binary cross-entropy) and battles (Bradley–Terry
// on logit differences); its 3-way head is RouteLLM's strong/tie/weak
// softmax for two models. The pure-Go backend is the default; GOMLX_BACKEND
// names another. A 128-unit head trains on 10k prompts in about 6.5 s an
// epoch (BenchmarkTrainBERTEpoch).
//
// FinetuneBERT also fine-tunes an ONNX encoder end to end through
// onnx-gomlx (head first on frozen embeddings, then encoder and head), and
// returns the new model.onnx for the artifact. On the pure-Go backend a
// step of 16 prompts takes 0.23 s for the tiny test model but about 72 s
// for a MiniLM-L6-sized one, so fine-tuning real encoders is practical
// only on a GPU/XLA backend.
//
// train is the only package in the module that may import GoMLX. A training
// run is not safe for concurrent use; start one run per goroutine. Runs take
// an explicit seed.
package train
