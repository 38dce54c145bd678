// Package irt implements IRT-Router's multidimensional item response theory
// (MIRT; Song et al., ACL 2025) for routing, with the item parameters of a
// prompt predicted from its embedding, so that unseen prompts get them too.
//
// # Model
//
// Each model m has an ability vector θ_m in R^K. A prompt with embedding e
// (float32, length D, L2-normalised) has the discrimination and difficulty
//
//	a_q = softplus(A e + A0)   in R^K, positive (A is K x D)
//	b_q = W·e + W0             a logit
//
// and model m answers it correctly with probability
//
//	P(correct | m, q) = sigmoid(a_q · θ_m - b_q),
//
// in [0, 1]. Abilities and difficulties share the logit scale. Params holds
// the fitted values; Params.Probs evaluates every model for one prompt
// without allocating (a few µs for 30 models, D = 256, K = 8).
//
// # Fitting
//
// Fit minimises the mean binary cross-entropy per response (scores in
// [0, 1]; graded scores are soft targets) plus the ridge penalties
// (L2/2)(‖A‖² + ‖W‖²) + (L2Theta/2)‖Θ‖², with analytic gradients, by
// full-batch L-BFGS (the default) or mini-batch Adam. The objective is not
// jointly convex (it is bilinear in a_q and θ), so Fit starts from a
// deterministic, seeded initialisation (a_q ≈ 1, θ at the logits of the
// models' mean scores, small random jitter) and stops early on the
// log-loss of a validation split of the prompts (Config.ValFraction, by a
// seeded hash of the prompt index, so that a prompt's responses stay on
// one side), returning the parameters of the best validation log-loss. On
// synthetic worlds both optimisers reach the same held-out log-loss;
// L-BFGS needs fewer objective evaluations and has no learning rate.
// Objective evaluations are parallel over a fixed partition of the
// prompts, so results do not depend on Config.Workers: a fit is a pure
// function of its inputs and Config.Seed.
//
// Model selection (the defaults). Unless the caller sets them, Fit chooses
// the latent dimension K and the penalty on the validation split: with
// Config.Dims zero it tries K in SelectDims = {1, 2, 4, 8}, and with both
// Config.L2 and Config.L2Theta zero it tries the prior precisions λ in
// SelectPriorPrecisions = {1, 10, 100, 1000, 10000}. The penalties are
// scaled by the number n of training responses, so that the penalised mean
// log-loss is the negative log-posterior divided by n: L2 = λ/n is a
// N(0, 1/λ) prior on the entries of A and W, and L2Theta =
// AbilityPriorPrecision/n = 1/n a standard normal prior on the abilities,
// as usual in IRT. A fixed penalty therefore weighs more, relative to the
// data, when the data are small. Each of the (up to 20) candidates is
// fitted with early stopping, and the fit of the lowest validation
// log-loss is returned (ties go to the smaller K, then the stronger
// penalty); FitReport gives the chosen Dims, L2 and L2Theta and the number
// of Candidates. A fit costs about as much as the sum of its candidates
// (seconds for 10^4 prompts). Setting Dims, or L2 or L2Theta, fixes that
// part of the configuration (DefaultDims = 8, DefaultL2 = DefaultL2Theta =
// 1e-4 fill the other fields of a partly set penalty); NoValidation, or a
// split that leaves no validation prompt, fits the defaults without
// selection. The selection replaced fixed defaults (K = 8, L2 = L2Theta =
// 1e-4 on the mean log-loss, a prior that all but vanishes on small data)
// that overfitted small data sets: on ~900 training prompts with 2 models
// their routing was no better than random.
//
// Identifiability. The likelihood depends on θ and a_q only through
// a_q·θ_m - b_q. Since a_q is positive, the remaining symmetries are the
// permutations of the K dimensions, a rescaling of each dimension (θ_j by
// c, a_j by about 1/c) and, where a_q varies little, shifts of θ absorbed
// by b_q. The ridge penalties pick one representative: the smallest θ and
// A (a balanced scale, θ centred near 0). The coordinates of θ are
// therefore not comparable between fits; probabilities, and summaries
// such as a model's mean probability over a set of prompts, are.
//
// New models. FitAbility fits the θ of a model that was not in the fit from
// at least MinAbilityResponses graded answers, with the item parameters
// frozen: a MAP estimate under a Gaussian prior centred on the mean of the
// fitted abilities (a small, strictly convex problem solved by Newton's
// method). Params.AddModel then returns new parameters that include it.
//
// # Serialisation
//
// Params.MarshalBinary writes a little-endian binary format (magic "RKIR",
// a version, the shapes, the model names, the float64 parameters and a
// CRC-32; see binary.go); UnmarshalBinary rejects unknown versions and
// corrupt data with an error and never panics.
//
// # Concurrency
//
// Params are read-only after Fit, FitAbility, AddModel or UnmarshalBinary
// return them: every method may be called concurrently. AddModel returns a
// copy and never mutates its receiver. Fit uses Config.Workers goroutines
// internally; the progress callback runs on Fit's goroutine.
//
// irt depends only on the standard library and gonum (floats, mat).
package irt
