package encoder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// This file exposes what a trainer needs to run an ONNX encoder's model
// outside ONNX Runtime (e.g. to fine-tune it) exactly as Encode does.

// Tokenize tokenises texts as Encode does (head+tail truncation to
// MaxLength, special tokens added) and pads every sequence on the right
// to the longest one with the tokenizer's pad id. It returns, per text,
// T input_ids, attention_mask (1 on tokens, 0 on padding) and
// token_type_ids.
func (e *ONNX) Tokenize(texts []string) (ids, mask, typeIDs [][]int64, err error) {
	toks, err := e.tokenize(texts)
	if err != nil {
		return nil, nil, nil, err
	}
	T := 0
	for _, t := range toks {
		T = max(T, len(t.ids))
	}
	ids, mask, typeIDs = make([][]int64, len(toks)), make([][]int64, len(toks)), make([][]int64, len(toks))
	for i, t := range toks {
		ids[i], mask[i], typeIDs[i] = make([]int64, T), make([]int64, T), make([]int64, T)
		for j := range T {
			if j < len(t.ids) {
				ids[i][j], mask[i][j], typeIDs[i][j] = int64(t.ids[j]), 1, int64(t.types[j])
			} else {
				ids[i][j] = int64(e.tok.padID)
			}
		}
	}
	return ids, mask, typeIDs, nil
}

// PadID is the token id Tokenize pads with.
func (e *ONNX) PadID() int64 { return int64(e.tok.padID) }

// Pooling is the pooling of the model's output vectors: "mean" (over the
// attention mask) or "cls" (the first vector).
func (e *ONNX) Pooling() string { return e.pooling }

// Normalize reports whether pooled vectors are L2-normalised.
func (e *ONNX) Normalize() bool { return e.normalize }

// Output is the name of the model output that is pooled.
func (e *ONNX) Output() string { return e.output }

// InputNames are the model inputs Encode feeds, in order: input_ids,
// attention_mask and, when the model has it, token_type_ids.
func (e *ONNX) InputNames() []string { return slices.Clone(e.inputNames) }

// Int32Inputs reports whether the model takes int32 rather than int64 ids.
func (e *ONNX) Int32Inputs() bool { return e.int32In }

// ReadONNXDir reads the files of an ONNX model directory by name
// (ONNXModelFile and ONNXTokenizerFile, and ONNXConfigFile and
// ONNXRoutekitFile when present), with the errors NewONNX gives.
func ReadONNXDir(dir string) (map[string][]byte, error) { return onnxReadDir(dir) }

// NewONNXFromFiles opens an ONNX encoder from the files of a model
// directory held in memory, by name (as ReadONNXDir returns them): it
// writes them to a temporary directory, which it removes once ONNX
// Runtime has loaded them. The identity is that of the files, as if
// opened from a directory holding them.
func NewONNXFromFiles(ctx context.Context, files map[string][]byte, cfg ONNXConfig) (*ONNX, error) {
	dir, err := os.MkdirTemp("", "routekit-encoder-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, b := range files {
		if filepath.Base(name) != name {
			return nil, fmt.Errorf("%w: file name %q", ErrONNXModelDir, name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return NewONNX(ctx, dir, cfg)
}
