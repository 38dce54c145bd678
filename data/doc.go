// Package data reads and writes the records routers are trained and
// evaluated on.
//
// # Records
//
// Every public layout is read into four canonical records (see
// ../shared/docs/formats.md for the layouts):
//
//   - Outcome: one graded answer of one model to one prompt, Score in
//     [0, 1], Cost in USD (optional), the canonical training record;
//   - Battle: one pairwise comparison (Chatbot Arena), Winner model_a,
//     model_b, tie or "tie (bothbad)";
//   - Feedback: one production signal about a served request;
//   - Decision: one routing decision from the server's log.
//
// Prompts are identified by PromptID; when a source has none it is the
// SHA-256 of the normalised text (NormalizePrompt: lower case, white space
// collapsed), so equal prompts share an id across files and a split by
// prompt never puts one prompt on both sides.
//
// # Reading
//
// A Reader detects the container from the file extension (.jsonl, .json,
// .csv, .parquet, each optionally .gz or .zst) and the Layout from the
// field names (SniffLayout), or takes both from Options. Records stream to
// a Handler one at a time: JSON Lines, JSON arrays, CSV and Parquet are
// all read incrementally, so memory does not grow with the file (JSON
// Lines are decoded in parallel batches, in file order). Parquet goes
// through Apache Arrow (arrow-go/v18, pqarrow).
//
// Bad input is a *ParseError naming the file, the line (the 1-based row
// for Parquet) and the field. With Options.SkipInvalid a bad row is
// skipped and counted in the Report by reason, with the first errors kept
// as examples; nothing is dropped silently. A row is handed on whole or
// not at all.
//
// Options.Exclude drops prompts of a PromptSet (a contamination filter);
// Options.Dedup merges prompts of equal normalised text and drops repeated
// (prompt, model) outcomes; both are counted in the Report.
//
// # Writing
//
// Create writes canonical records as Parquet (zstd, 64k-row groups, Arrow
// schema stored), JSON Lines or CSV. The file appears only when Close
// succeeds, so an interrupted import never leaves a partial file. Times
// have microsecond precision, the precision of the Parquet timestamps, so
// every record read from any layout survives a round trip through the
// canonical files unchanged.
//
// # Splits and summaries
//
// Splitter assigns prompts to train, validation and test by a seeded hash
// of the prompt id or by time. Stats summarises outcomes and battles per
// model and per task.
//
// # Costs
//
// A Catalog holds the models with prices: a flat cost per query or input
// and output prices in USD per 1M tokens, with DefaultOutputTokens output
// tokens expected and CharsPerToken characters a token when the data does
// not say. A model without a price is an error, never zero.
//
// # Concurrency
//
// Readers, Writers and Stats are for one goroutine. Catalogs and
// PromptSets are safe for concurrent reads once built.
package data
