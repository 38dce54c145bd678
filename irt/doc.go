// Package irt implements item response theory for routing: logistic IRT
// likelihoods, the fitting of model abilities θ and item (prompt) difficulty
// and discrimination by maximum likelihood with gonum's optimize package, and
// Prob(θ, item), the probability that a model of ability θ answers the item
// correctly.
//
// Abilities and difficulties share one logit scale: with unit discrimination,
// θ equal to the difficulty gives probability 0.5. Probabilities are in
// [0, 1]. irt depends only on package data. Fitted parameters are plain values
// and safe for concurrent reads; a single fit is not meant to be shared
// between goroutines.
package irt
