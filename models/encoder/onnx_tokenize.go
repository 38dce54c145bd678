package encoder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

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

// onnxCutBytesPerToken is the bytes of text per token that encode first
// assumes when it cuts a long text before tokenising it: about twice the
// English average of a BERT token (4-5 bytes, spaces included); a piece
// that turns out to hold too few tokens is retried twice as long, so the
// value changes the cost, never the result.
const onnxCutBytesPerToken = 8

// onnxCutMargin is the number of tokens next to a cut that encode never
// keeps, so that a tokenizer whose tokens near a cut could differ from
// those of the whole text (one not splitting at whitespace) cannot change
// the kept ones.
const onnxCutMargin = 8

// encode tokenises one text: special tokens included, at most maxLen ids.
// full reports the number of content tokens before truncation; for a text
// cut before tokenising (see below) it is the tokens of the two pieces, a
// lower bound above the budget.
//
// Tokenising costs time linear (or worse) in the text, and head+tail
// truncation keeps only budget tokens, so a text longer than twice
// budget×onnxCutBytesPerToken bytes is not tokenised whole: its head piece
// (up to that many bytes, ending before an ASCII whitespace) and its tail
// piece (starting at an ASCII whitespace) are tokenised, and the first
// budget/2 tokens of the head piece and the last budget-budget/2 of the
// tail piece are kept, provided each piece has onnxCutMargin tokens to
// spare; else the pieces are doubled (at worst the whole text is
// tokenised). For tokenizers whose pre-tokenizer splits at whitespace (the
// BERT family), the tokens of a piece cut at whitespace are exactly the
// whole text's tokens over that piece, so the result equals that of
// tokenising the whole text; texts under the bound are tokenised whole.
func (t *onnxTokenizer) encode(text string) (tok onnxTokens, full int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encoder: tokenizer failed on a %d-byte text: %v", len(text), r)
		}
	}()
	budget := t.maxLen - t.nSpecial
	var enc *tokenizer.Encoding
	for span := budget * onnxCutBytesPerToken; enc == nil; span *= 2 {
		if len(text) <= 2*span {
			if enc, err = t.tk.EncodeSingle(text, false); err != nil {
				return onnxTokens{}, 0, fmt.Errorf("encoder: tokenize: %w", err)
			}
			full = len(enc.Ids)
			if full > budget {
				enc = onnxHeadTailEncoding(enc, budget)
			}
			break
		}
		enc, full, err = t.encodePieces(text, span, budget)
		if err != nil {
			return onnxTokens{}, 0, err
		}
	}
	out := t.tk.PostProcess(enc, nil, true)
	if len(out.Ids) != len(out.TypeIds) {
		return onnxTokens{}, 0, fmt.Errorf("encoder: tokenizer returned %d ids and %d type ids", len(out.Ids), len(out.TypeIds))
	}
	return onnxTokens{ids: out.Ids, types: out.TypeIds}, full, nil
}

// encodePieces tokenises the head and tail pieces of a text longer than
// 2×span bytes (see encode) and returns their head+tail truncation to
// budget tokens, or nil when a piece has too few tokens or no whitespace
// to cut at.
func (t *onnxTokenizer) encodePieces(text string, span, budget int) (*tokenizer.Encoding, int, error) {
	headEnd := strings.LastIndexAny(text[:span], onnxCutSpace)
	tailStart := strings.IndexAny(text[len(text)-span:], onnxCutSpace)
	if headEnd <= 0 || tailStart < 0 {
		return nil, 0, nil
	}
	tailStart += len(text) - span
	head, tail := budget/2, budget-budget/2
	he, err := t.tk.EncodeSingle(text[:headEnd], false)
	if err != nil {
		return nil, 0, fmt.Errorf("encoder: tokenize: %w", err)
	}
	if len(he.Ids) < head+onnxCutMargin {
		return nil, 0, nil
	}
	te, err := t.tk.EncodeSingle(text[tailStart:], false)
	if err != nil {
		return nil, 0, fmt.Errorf("encoder: tokenize: %w", err)
	}
	if len(te.Ids) < tail+onnxCutMargin {
		return nil, 0, nil
	}
	return onnxJoinEncodings(he, te, head, tail), len(he.Ids) + len(te.Ids), nil
}

// onnxHeadTailEncoding keeps the first max/2 and last max-max/2 tokens of a
// (special-token free) encoding; see HeadTail.
func onnxHeadTailEncoding(e *tokenizer.Encoding, max int) *tokenizer.Encoding {
	if len(e.Ids) <= max {
		return e
	}
	return onnxJoinEncodings(e, e, max/2, max-max/2)
}

// onnxJoinEncodings returns the first nh tokens of h followed by the last
// nt tokens of t (special-token free encodings holding at least that
// many). A per-token field is kept when both have it for every token;
// offsets stay those of the text each encoding was made from (only ids and
// type ids are used).
func onnxJoinEncodings(h, t *tokenizer.Encoding, nh, nt int) *tokenizer.Encoding {
	hn, tn := len(h.Ids), len(t.Ids)
	join := func(a, b []int) []int {
		if len(a) != hn || len(b) != tn {
			return nil
		}
		return append(slices.Clone(a[:nh]), b[tn-nt:]...)
	}
	var tokens []string
	if len(h.Tokens) == hn && len(t.Tokens) == tn {
		tokens = append(slices.Clone(h.Tokens[:nh]), t.Tokens[tn-nt:]...)
	}
	var offsets [][]int
	if len(h.Offsets) == hn && len(t.Offsets) == tn {
		offsets = append(slices.Clone(h.Offsets[:nh]), t.Offsets[tn-nt:]...)
	}
	var opts []tokenizer.EncodingOpt
	if words := join(h.Words, t.Words); words != nil {
		opts = append(opts, tokenizer.WithWordsEncodingOpt(words))
	}
	return tokenizer.NewEncoding(join(h.Ids, t.Ids), join(h.TypeIds, t.TypeIds), tokens, offsets,
		join(h.SpecialTokenMask, t.SpecialTokenMask), join(h.AttentionMask, t.AttentionMask), nil, opts...)
}

// onnxCutSpace are the bytes encode cuts long texts at.
const onnxCutSpace = " \t\n\r"
