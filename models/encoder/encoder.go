package encoder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Encoder embeds texts.
type Encoder interface {
	// Encode returns one vector of Dim() components per text, in order.
	Encode(ctx context.Context, texts []string) ([][]float32, error)
	// Dim is the number of components of a vector.
	Dim() int
	// Identity names the encoder and its exact weights.
	Identity() Identity
}

// Close releases what enc holds (an ONNX encoder's sessions); encoders
// that hold nothing are left as they are.
func Close(enc Encoder) error {
	if c, ok := enc.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Identity is the stable identity of an encoder: equal identities encode
// equal texts to equal vectors.
type Identity struct {
	// Kind is "builtin" or "onnx".
	Kind string `json:"kind"`
	// Params are the parameters that shape the output (dimension, n-gram
	// sizes, pooling, max length, ...), as strings.
	Params map[string]string `json:"params,omitempty"`
	// Digest is the hex SHA-256 of the encoder's files or fitted state.
	Digest string `json:"digest"`
}

// String is a compact, stable form: kind, sorted parameters and the first
// 12 hex digits of the digest, e.g. "builtin(dim=256,ngrams=1-2)@3fa2c1e09b7d".
func (id Identity) String() string {
	keys := make([]string, 0, len(id.Params))
	for k := range id.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + id.Params[k]
	}
	d := id.Digest
	if len(d) > 12 {
		d = d[:12]
	}
	return fmt.Sprintf("%s(%s)@%s", id.Kind, strings.Join(parts, ","), d)
}

// ID is the full identity as one string (the whole digest), for keying
// caches: two encoders share an ID only when they are the same encoder.
func (id Identity) ID() string {
	keys := make([]string, 0, len(id.Params))
	for k := range id.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", id.Kind)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, id.Params[k])
	}
	fmt.Fprintf(h, "%s\n", id.Digest)
	return id.Kind + "-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// Equal reports whether two identities are the same encoder.
func (id Identity) Equal(o Identity) bool { return id.ID() == o.ID() }

// HeadTail truncates a token sequence to at most max tokens: the first
// max/2 and the last max - max/2. Sequences that fit are returned as they
// are.
func HeadTail[T any](tokens []T, max int) []T {
	if max <= 0 || len(tokens) <= max {
		return tokens
	}
	head := max / 2
	out := make([]T, 0, max)
	out = append(out, tokens[:head]...)
	return append(out, tokens[len(tokens)-(max-head):]...)
}
