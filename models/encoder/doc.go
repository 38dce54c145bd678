// Package encoder turns prompts into dense vectors for routers.
//
// Two kinds of Encoder exist: the built-in encoder (hashed TF-IDF over word
// and character n-grams reduced by a randomized SVD, fitted on training
// prompts and saved inside an artifact; no download) and the ONNX encoder
// (any BERT-family model exported to ONNX with its tokenizer.json, run
// through ONNX Runtime). Both return L2-normalised float32 vectors of Dim()
// components, one per text, and are safe for concurrent use.
//
// Every Encoder has an Identity: its kind, parameters and a content hash of
// its files or fitted state. Artifacts pin the identity of the encoder they
// were trained with, and a server refuses an artifact whose encoder differs
// from the one it loaded.
//
// # Long prompts
//
// Prompts longer than an encoder's token budget are truncated, never
// rejected: the first half of the budget is taken from the head of the
// prompt and the rest from its tail (instructions tend to sit at the start
// and the question at the end).
package encoder
