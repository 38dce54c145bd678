// Package synth generates a synthetic "router world" whose ground truth is
// known: a catalog of priced models, graded answers of those models to
// realistic English prompts, and Chatbot-Arena-style battles, all drawn
// from one latent multidimensional IRT model. Later code can then check
// that a router recovers the truth. It is the default data of the demo,
// since no public dataset can be bundled.
//
// # Generative model
//
// There are K skills (Config.Skills; with K = 4 they are math, code,
// knowledge and language, otherwise skill_1 ... skill_K).
//
// Models. Each model m has a general ability g_m ~ N(0.5, 0.9²) and an
// ability vector theta_m in R^K with theta_mk = g_m + N(0, 0.45²). About a
// third of the weaker 60% of the models are specialists: one skill gets an
// extra boost of 1.0 to 1.8, so that some cheap models are strong at one
// thing. The overall ability is the mean of theta_m. Prices are in USD per
// 1M tokens: the input price is log-linear in the overall ability's
// position in the range of abilities, plus noise (sd 0.1 of the range,
// clamped to it), between 0.05 and 7.5; the output price is 2 to 4 times the input price
// (so up to 30). Each model has a verbosity v_m = exp(N(0, 0.25²)) that
// scales its answer lengths; ModelInfo.OutputTokens is the resulting
// expected answer length. Models are named synth-<vendor>-<tier> (tiers
// nano ... ultra by price rank) and listed in increasing input price.
//
// Prompts. There are 12 task families (see Families), each with a skill mix
// over the canonical skills, a base difficulty and a frequency. A prompt q
// gets a time uniform over the 60 days from Config.Start; its family is
// drawn with weights in which the two code families grow linearly from
// 0.5x to 1.5x over the window (drift); its template level L (0 easy to 3
// hard) has probabilities 0.3, 0.3, 0.25, 0.15. The family's templates
// then write the text from random fillers (names, numbers, topics,
// languages, code snippets), harder levels using harder wording ("prove",
// "rigorously", "multi-step", "edge cases", "O(n log n)"), more
// constraints, longer inputs and larger numbers; a random polite prefix or
// suffix carries no information. The template also reports a visible
// within-level complexity x in [0, 1]. The difficulty is
//
//	b_q = base_family + 1.0·(L - 1.25) + 0.5·(x - 0.5) + h_q,  h_q ~ N(0, 0.75²)
//
// where the hidden part h_q, about 30% of the variance of b_q
// (Truth.HiddenShare), is not revealed by the text. The discrimination
// vector is a_q = alpha_q · w_q with alpha_q = exp(N(0.35, 0.2²)) and w_q the
// family's skill mix with multiplicative jitter exp(N(0, 0.25²)) on its
// non-zero entries, renormalised to sum 1; so a_q is non-negative. With
// K != 4 the canonical mix is mapped onto the K skills deterministically
// (see FamilyTruth.Mix). Prompts are unique: a prompt whose normalised
// text collides with an earlier one is redrawn (after 50 collisions it
// gets a " (variant n)" suffix).
// Prompt ids are data.PromptIDOf of the text.
//
// Outcomes. Each model answers each prompt (with Coverage < 1, each model
// answers with probability Coverage, and at least 2 models answer every
// prompt). The probability of a correct answer is
//
//	P(correct) = sigmoid(a_q · theta_m - b_q).
//
// For most families the score is a Bernoulli draw, 0 or 1. For the
// open-ended families creative_writing, summarisation and translation
// (FamilyTruth.Graded) the score is a Beta draw with mean P(correct) and
// precision 8, rounded to a multiple of 0.1. The cost, in USD, is
//
//	cost = (in·InputPrice + out·OutputPrice) / 1e6
//
// with in = ceil(characters / 4) input tokens and out the answer's output
// tokens: a family's typical length (translations: 1.2 times the input),
// times 1 + 0.3·L, times the model's verbosity, times lognormal noise (sd
// 0.35). The outcome's time is the prompt's time plus up to 30 minutes;
// its Task is the family name.
//
// Battles. Each battle draws a prompt uniformly and a pair of distinct
// models: half the time any two models, half the time two models at most 2
// ranks apart in overall ability, so both lopsided and close matchups
// occur; the order within the pair is random. Each answer's quality is
// sigmoid(a_q · theta_m - b_q + e) with e standard logistic noise, so that
// quality >= 0.5 with probability P(correct). The better answer wins;
// when the qualities differ by less than 0.035 the battle is a tie, "tie
// (bothbad)" when both are below 0.5 (about 15% ties in all). Battles have
// Judge "synthetic", Language "English" and Turn 1, and are in time order.
//
// # Determinism
//
// Generate is a pure function of its Config: equal configs give deeply
// equal worlds, with byte-identical encodings. All randomness comes from
// math/rand/v2 PCG sources seeded by Config.Seed, one stream per stage
// (models, prompts, outcomes, battles), so changing Battles leaves the
// models, prompts, outcomes and truth unchanged, and changing Coverage
// leaves the models, prompts, truth and battles unchanged. Worlds of
// different seeds differ. The values of the model parameters may change
// between versions of this package.
//
// # Concurrency
//
// A World and its Truth are plain values: they may be read concurrently,
// but they are not safe for concurrent mutation, and the records share
// strings and the catalog entries share price pointers within the world
// (World.Catalog returns copies).
package synth
