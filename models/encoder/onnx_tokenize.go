package encoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// onnxTokenizer turns texts into model inputs with a Hugging Face
// tokenizer.json, run by github.com/sugarme/tokenizer.
//
// Truncation and special tokens are done here, not by the library: a text is
// tokenised without special tokens, its tokens are cut to the content budget
// (maxLen minus the special tokens the post-processor adds, e.g. 2 for
// [CLS] ... [SEP]) by HeadTail, and the post-processor then adds the special
// tokens. So a sequence is never longer than maxLen, special tokens included.
type onnxTokenizer struct {
	tk       *tokenizer.Tokenizer
	maxLen   int // whole sequence, special tokens included
	nSpecial int // special tokens added around a single sequence
	padID    int // id of the padding token
}

// onnxTokens is one tokenised text: ids and token type ids, same length.
type onnxTokens struct {
	ids   []int
	types []int
}

// newONNXTokenizer parses tokenizer.json (its contents in data) and sets the
// sequence budget. Panics of the tokenizer library on unexpected JSON are
// turned into errors.
func newONNXTokenizer(data []byte, maxLen int) (t *onnxTokenizer, err error) {
	fixed, padID, err := onnxFixTokenizerJSON(data)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("unsupported tokenizer configuration: %v", r)
		}
	}()
	tk, err := pretrained.FromReader(bytes.NewReader(fixed))
	if err != nil {
		return nil, err
	}
	if tk.GetModel() == nil {
		return nil, fmt.Errorf("no \"model\" section")
	}
	// Padding and truncation are ours (the zero padding direction of the
	// library is Left, and its truncation is not head+tail).
	tk.WithPadding(nil)
	tk.WithTruncation(nil)
	empty := tokenizer.NewEncoding(nil, nil, nil, nil, nil, nil, nil)
	nSpecial := len(tk.PostProcess(empty, nil, true).Ids)
	if maxLen <= nSpecial {
		return nil, fmt.Errorf("%w: max_length %d leaves no room for text next to the %d special tokens", ErrONNXConfig, maxLen, nSpecial)
	}
	if padID < 0 {
		padID = 0
		for _, tok := range []string{"[PAD]", "<pad>"} {
			if id, ok := tk.TokenToId(tok); ok {
				padID = id
				break
			}
		}
	}
	return &onnxTokenizer{tk: tk, maxLen: maxLen, nSpecial: nSpecial, padID: padID}, nil
}

// onnxFixTokenizerJSON rewrites a tokenizer.json so that sugarme/tokenizer
// normalises like Hugging Face tokenizers:
//
//   - A BertNormalizer strips accents when strip_accents is true, or when it
//     is null/absent and lowercase is true (HF's rule; bert-base-uncased
//     ships strip_accents: null). HF strips accents as NFD then dropping
//     non-spacing marks; sugarme only drops marks (so "é", one code point,
//     stays and becomes [UNK]) and reads null as false. Such a normalizer is
//     replaced by Sequence[NFD, BertNormalizer{strip_accents: true}].
//   - truncation and padding are removed (onnxTokenizer does both); the
//     pad id of the padding section is returned (-1 if none).
func onnxFixTokenizerJSON(data []byte) (fixed []byte, padID int, err error) {
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, 0, err
	}
	if cfg == nil {
		return nil, 0, fmt.Errorf("not a JSON object")
	}
	if m, ok := cfg["model"].(map[string]any); !ok || m == nil {
		return nil, 0, fmt.Errorf("no \"model\" section")
	}
	padID = -1
	if p, ok := cfg["padding"].(map[string]any); ok {
		if id, ok := p["pad_id"].(float64); ok && id >= 0 && id == math.Trunc(id) {
			padID = int(id)
		}
	}
	if n, ok := cfg["normalizer"].(map[string]any); ok {
		cfg["normalizer"] = onnxFixNormalizer(n)
	}
	cfg["truncation"] = nil
	cfg["padding"] = nil
	fixed, err = json.Marshal(cfg)
	return fixed, padID, err
}

func onnxFixNormalizer(n map[string]any) map[string]any {
	switch n["type"] {
	case "Sequence":
		if list, ok := n["normalizers"].([]any); ok {
			for i, sub := range list {
				if m, ok := sub.(map[string]any); ok {
					list[i] = onnxFixNormalizer(m)
				}
			}
		}
		return n
	case "BertNormalizer":
		lower, _ := n["lowercase"].(bool)
		strip, isBool := n["strip_accents"].(bool)
		if !isBool {
			strip = lower
		}
		if !strip {
			return n
		}
		bert := make(map[string]any, len(n))
		for k, v := range n {
			bert[k] = v
		}
		bert["strip_accents"] = true
		return map[string]any{
			"type":        "Sequence",
			"normalizers": []any{map[string]any{"type": "NFD"}, bert},
		}
	}
	return n
}

// encode tokenises one text: special tokens included, at most maxLen ids.
// full reports the number of content tokens before truncation.
func (t *onnxTokenizer) encode(text string) (tok onnxTokens, full int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encoder: tokenizer failed on a %d-byte text: %v", len(text), r)
		}
	}()
	enc, err := t.tk.EncodeSingle(text, false)
	if err != nil {
		return onnxTokens{}, 0, fmt.Errorf("encoder: tokenize: %w", err)
	}
	full = len(enc.Ids)
	if budget := t.maxLen - t.nSpecial; full > budget {
		enc = onnxHeadTailEncoding(enc, budget)
	}
	out := t.tk.PostProcess(enc, nil, true)
	if len(out.Ids) != len(out.TypeIds) {
		return onnxTokens{}, 0, fmt.Errorf("encoder: tokenizer returned %d ids and %d type ids", len(out.Ids), len(out.TypeIds))
	}
	return onnxTokens{ids: out.Ids, types: out.TypeIds}, full, nil
}

// onnxHeadTailEncoding keeps the first max/2 and last max-max/2 tokens of a
// (special-token free) encoding; see HeadTail.
func onnxHeadTailEncoding(e *tokenizer.Encoding, max int) *tokenizer.Encoding {
	n := len(e.Ids)
	cut := func(s []int) []int {
		if len(s) != n {
			return nil
		}
		return HeadTail(s, max)
	}
	var tokens []string
	if len(e.Tokens) == n {
		tokens = HeadTail(e.Tokens, max)
	}
	var offsets [][]int
	if len(e.Offsets) == n {
		offsets = HeadTail(e.Offsets, max)
	}
	var opts []tokenizer.EncodingOpt
	if words := cut(e.Words); words != nil {
		opts = append(opts, tokenizer.WithWordsEncodingOpt(words))
	}
	return tokenizer.NewEncoding(HeadTail(e.Ids, max), cut(e.TypeIds), tokens, offsets,
		cut(e.SpecialTokenMask), cut(e.AttentionMask), nil, opts...)
}
