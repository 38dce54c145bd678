// Package models defines the Router interface and the inference side of the
// learned routers routekit supports: matrix factorisation (mf), item response
// theory (irt), k-nearest neighbours (knn) and a classification head on a
// BERT-style text encoder (bert-head).
//
// Given a prompt, a Router predicts for each candidate model of the catalog
// the probability, in [0, 1], that the model answers well; callers turn these
// scores into a routing decision by trading quality against price. Prompt
// embeddings are float32 vectors of the encoder's fixed dimension. Text
// encoders live in models/encoder and the on-disk router artifacts in
// models/artifact.
//
// Models only runs trained parameters: training is package train's job, and
// models imports neither train nor GoMLX. A loaded Router is read-only and
// safe for concurrent use by multiple goroutines.
package models
