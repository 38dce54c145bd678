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
// train is the only package in the module that may import GoMLX. A training
// run is not safe for concurrent use; start one run per goroutine. Runs take
// an explicit seed.
package train
