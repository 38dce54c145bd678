package encoder

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// BuiltinKind is the Identity.Kind of the built-in encoder.
const BuiltinKind = "builtin"

// Defaults of BuiltinConfig, used for its zero fields.
const (
	defaultBuiltinDim        = 256
	defaultBuiltinBuckets    = 1 << 18
	defaultBuiltinMaxTokens  = 512
	defaultBuiltinMinDF      = 5
	defaultBuiltinSeed       = 1
	defaultBuiltinOversample = 10
	defaultBuiltinPowerIters = 2
)

// Limits of BuiltinConfig.
const (
	minBuiltinDim        = 16
	maxBuiltinDim        = 1024
	minBuiltinBuckets    = 1 << 10
	maxBuiltinBuckets    = 1 << 24
	minBuiltinMaxTokens  = 8
	maxBuiltinMaxTokens  = 1 << 20
	maxBuiltinWordNgram  = 4
	maxBuiltinCharNgram  = 8
	maxBuiltinOversample = 512
	maxBuiltinPowerIters = 20
)

// Fixed parts of the featurisation (format version 1).
const (
	// builtinMaxWordRunes cuts longer runs of word characters into
	// several tokens, bounding the character n-grams of a token.
	builtinMaxWordRunes = 32
	// builtinMaxSymbolRun cuts longer runs of code symbols.
	builtinMaxSymbolRun = 3
)

// ErrBuiltinRank is wrapped by the error of FitBuiltin when the training
// prompts cannot give Dim independent directions: fewer distinct prompts,
// or fewer features kept by MinDF, than Dim, or prompts that span fewer
// than Dim dimensions. The message says the largest Dim that would work
// when it is known.
var ErrBuiltinRank = errors.New("encoder: builtin: too few training prompts or features for Dim")

// BuiltinConfig sets the featurisation and the fitting of a built-in
// encoder. The zero value of every field means its default, so
// BuiltinConfig{} is the default configuration (DefaultBuiltinConfig) and
// BuiltinConfig{Dim: 128} a smaller encoder.
//
// # Featurisation
//
// A prompt is lowercased and cut into tokens: runs of Unicode letters,
// digits, combining marks and '_' are words (a run longer than 32
// characters is cut into pieces of 32); every Han, Hiragana or Katakana
// character is a word of its own (those scripts do not separate words
// with spaces); runs of the ASCII code symbols ! # $ % & * + - / : ; < =
// > ? @ \ ^ ` | ~ ( ) [ ] { } are symbol tokens of at most 3 characters
// (so "==", "->", "):" and "```" are tokens); any other Unicode symbol
// (math, currency, emoji) is a token of its own; everything else
// (spaces, '.', ',', quotes, other punctuation) separates tokens. A
// prompt of more than MaxTokens tokens keeps its first MaxTokens/2 and
// its last MaxTokens - MaxTokens/2 tokens (HeadTail).
//
// The features are the word n-grams of the token sequence (WordNgrams)
// and the character n-grams of each word padded with begin and end
// markers (CharNgrams; a word shorter than the smallest n gives one
// feature, the whole padded word). Each feature is hashed (FNV-1a 64 with
// a MurmurHash3 finaliser; stable across platforms, and fixed by the
// format version) into a bucket, with a sign taken from an independent
// bit of the hash so that colliding features tend to cancel rather than
// add up. Word and character n-grams use separate halves of the Buckets
// buckets when both are on. A bucket's signed count c gives the weight
// sign(c)·(1 + ln |c|)·idf, with the smooth idf = 1 + ln((1 + n)/(1 + df))
// of the n training prompts, df of which have the bucket; buckets seen in
// fewer than MinDF training prompts are dropped. The word part and the
// character part of the vector are normalised separately and weighted so
// that the word n-grams carry two thirds of its squared norm and the
// character n-grams one third (with one kind alone, the vector is
// simply L2-normalised). On the router checks of the tests this beat
// both a single normalisation (where the many character n-grams drown
// the words) and word n-grams alone.
//
// # Reduction
//
// The TF-IDF vectors of the training prompts form a sparse matrix A
// whose top Dim right singular vectors V (a truncated SVD, as in latent
// semantic analysis) are found by a randomized SVD (Halko, Martinsson
// and Tropp 2011): a Gaussian test matrix of Dim+Oversample columns,
// PowerIters power iterations each followed by a QR re-orthonormalisation
// (Cholesky QR), then the SVD of the small projected matrix (through the
// eigendecomposition of its Gram matrix). The products with the sparse
// matrix run in float32, the rest in float64. A prompt's vector is its
// TF-IDF vector times V, L2-normalised: the sum over its buckets of
// weight times the bucket's row of V, so encoding costs one Dim-long
// multiply-add per distinct feature.
//
// # Quantisation
//
// The fitted projection is stored as int8: each row is scaled by its
// largest magnitude over 127 and rounded, and the row's float32 scale is
// kept beside it. Encoding reads a quarter of the bytes a float32 row
// needs, and its time is mostly those reads (one random row per distinct
// feature), so with the AVX2 kernel used on amd64 and each row prefetched
// a few rows ahead it runs two to two and a half times as fast (on amd64
// without AVX2, and elsewhere, a plain loop gives the same bits). The
// vectors stay within a cosine of 0.9999 of the unquantised ones
// (TestQuantisedMatchesFloat). Fitting computes the training vectors
// with the quantised rows, so training and serving use the same numbers.
// Encoders saved in format version 1 (float32 rows) still load and
// encode as they were fitted.
//
// # Size
//
// The fitted state holds one row of Dim int8 (plus a float32 scale) per
// kept bucket (at most Buckets rows): with the defaults, 18.6k rows
// (4.8 MB) for 4,000 synthetic prompts, 36.5k rows (9.4 MB) for the
// 4,500 training prompts of LLMRouter's dcrouter data, 39k rows (10 MB)
// for 100,000 synthetic prompts. Fewer Buckets or a larger MinDF bound
// it (Buckets 2^16 keeps at most 65,536 rows, 17 MB at Dim 256) at
// little cost in quality.
type BuiltinConfig struct {
	// Dim is the number of components of the output vectors, 16 to 1024;
	// 0 means 256. 128 to 512 is recommended: in the router checks of the
	// tests 128 did slightly worse than 256 and 512 no better, while
	// encoding time, fitting time and the saved state grow with Dim.
	// Fitting needs at least Dim distinct prompts.
	Dim int
	// Buckets is the number of hash buckets, a power of two from 2^10 to
	// 2^24; 0 means 2^18 (262144), few enough collisions for any
	// training set. Only the buckets that MinDF keeps cost memory in the
	// fitted state (one row each), plus 4 bytes per bucket once loaded.
	Buckets int
	// MaxTokens is the token budget of a prompt, 8 to 2^20; 0 means 512.
	// Longer prompts keep their head and tail (see HeadTail).
	MaxTokens int
	// WordNgrams is the range {min, max} of the lengths of the word
	// n-grams, within 1 to 4; the zero value means {1, 2} (unigrams and
	// bigrams). {-1, -1} turns word n-grams off.
	WordNgrams [2]int
	// CharNgrams is the range {min, max} of the lengths of the character
	// n-grams within a word, counting the begin and end markers, within
	// 1 to 8; the zero value means {3, 5}. {-1, -1} turns them off (but
	// word and character n-grams cannot both be off).
	CharNgrams [2]int
	// MinDF drops the buckets seen in fewer than MinDF training prompts,
	// at least 1; 0 means 5. Rare features barely move the SVD but cost
	// a row each: on LLMRouter's data MinDF 5 keeps less than half the
	// rows of MinDF 2 at equal quality, and fits twice as fast.
	MinDF int
	// Seed seeds the random test matrix of the SVD; 0 means 1. The fitted
	// state records it.
	Seed uint64
	// Oversample is the number of extra random directions of the
	// randomized SVD, 1 to 512; 0 means 10. It is reduced when the
	// prompts or features cannot provide that many.
	Oversample int
	// PowerIters is the number of power iterations of the randomized SVD,
	// 1 to 20, or -1 for none; 0 means 2. Each costs two passes over the
	// training matrix (about a fifth of the fit each) and sharpens the
	// smaller singular directions; for routing, 1 did as well as 2 in the
	// tests and none slightly worse.
	PowerIters int
}

// DefaultBuiltinConfig returns the default configuration: Dim 256,
// Buckets 2^18, MaxTokens 512, WordNgrams {1, 2}, CharNgrams {3, 5},
// MinDF 5, Seed 1, Oversample 10, PowerIters 2.
func DefaultBuiltinConfig() BuiltinConfig {
	return BuiltinConfig{
		Dim:        defaultBuiltinDim,
		Buckets:    defaultBuiltinBuckets,
		MaxTokens:  defaultBuiltinMaxTokens,
		WordNgrams: [2]int{1, 2},
		CharNgrams: [2]int{3, 5},
		MinDF:      defaultBuiltinMinDF,
		Seed:       defaultBuiltinSeed,
		Oversample: defaultBuiltinOversample,
		PowerIters: defaultBuiltinPowerIters,
	}
}

// withDefaults returns c with its zero fields replaced by their defaults
// and a disabled n-gram range written {-1, -1}.
func (c BuiltinConfig) withDefaults() BuiltinConfig {
	d := DefaultBuiltinConfig()
	if c.Dim == 0 {
		c.Dim = d.Dim
	}
	if c.Buckets == 0 {
		c.Buckets = d.Buckets
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = d.MaxTokens
	}
	if c.WordNgrams == [2]int{} {
		c.WordNgrams = d.WordNgrams
	}
	if c.CharNgrams == [2]int{} {
		c.CharNgrams = d.CharNgrams
	}
	if c.MinDF == 0 {
		c.MinDF = d.MinDF
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Oversample == 0 {
		c.Oversample = d.Oversample
	}
	if c.PowerIters == 0 {
		c.PowerIters = d.PowerIters
	}
	return c
}

// Validate reports every invalid field of c, after zero fields take their
// defaults (so BuiltinConfig{} is valid).
func (c BuiltinConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field string, v any, want string) {
		errs = append(errs, fmt.Errorf("encoder: builtin: %s: %v, want %s", field, v, want))
	}
	if c.Dim < minBuiltinDim || c.Dim > maxBuiltinDim {
		bad("Dim", c.Dim, fmt.Sprintf("%d to %d", minBuiltinDim, maxBuiltinDim))
	}
	if c.Buckets < minBuiltinBuckets || c.Buckets > maxBuiltinBuckets || c.Buckets&(c.Buckets-1) != 0 {
		bad("Buckets", c.Buckets, "a power of two from 2^10 to 2^24")
	}
	if c.MaxTokens < minBuiltinMaxTokens || c.MaxTokens > maxBuiltinMaxTokens {
		bad("MaxTokens", c.MaxTokens, fmt.Sprintf("%d to %d", minBuiltinMaxTokens, maxBuiltinMaxTokens))
	}
	wordOff, charOff := ngramsOff(c.WordNgrams), ngramsOff(c.CharNgrams)
	if !wordOff && !ngramsIn(c.WordNgrams, maxBuiltinWordNgram) {
		bad("WordNgrams", c.WordNgrams, fmt.Sprintf("{min, max} with 1 <= min <= max <= %d, or {-1, -1}", maxBuiltinWordNgram))
	}
	if !charOff && !ngramsIn(c.CharNgrams, maxBuiltinCharNgram) {
		bad("CharNgrams", c.CharNgrams, fmt.Sprintf("{min, max} with 1 <= min <= max <= %d, or {-1, -1}", maxBuiltinCharNgram))
	}
	if wordOff && charOff {
		errs = append(errs, errors.New("encoder: builtin: WordNgrams and CharNgrams are both off, want at least one"))
	}
	if c.MinDF < 1 {
		bad("MinDF", c.MinDF, "at least 1")
	}
	if c.Oversample < 1 || c.Oversample > maxBuiltinOversample {
		bad("Oversample", c.Oversample, fmt.Sprintf("1 to %d", maxBuiltinOversample))
	}
	if c.PowerIters != -1 && (c.PowerIters < 1 || c.PowerIters > maxBuiltinPowerIters) {
		bad("PowerIters", c.PowerIters, fmt.Sprintf("1 to %d, or -1 for none", maxBuiltinPowerIters))
	}
	return errors.Join(errs...)
}

func ngramsOff(r [2]int) bool { return r == [2]int{-1, -1} }

func ngramsIn(r [2]int, max int) bool { return r[0] >= 1 && r[0] <= r[1] && r[1] <= max }

func ngramString(r [2]int) string {
	if ngramsOff(r) {
		return "off"
	}
	return strconv.Itoa(r[0]) + "-" + strconv.Itoa(r[1])
}

// Builtin is the built-in encoder: hashed TF-IDF over word and character
// n-grams reduced by a truncated SVD fitted on training prompts (see
// BuiltinConfig). Make one with FitBuiltin, ReadBuiltin or LoadBuiltin. It
// is immutable and safe for concurrent use.
//
// Encode returns L2-normalised vectors. A text with no feature known to
// the encoder (the empty string, or only words and characters never seen
// in at least MinDF training prompts) encodes to the fallback vector: the
// normalised projection of the mean TF-IDF vector of the training
// prompts, so that it is treated like an average prompt and every output
// has unit norm.
//
// The projection is V itself, not V scaled by the inverse singular
// values: the output keeps the cosine geometry of the TF-IDF vectors
// restricted to the top Dim directions. Whitened vectors (V/sigma) did
// worse in the tests: held-out R² of per-model ridge regressions 0.230
// against 0.239 on a synthetic world and 0.185 against 0.198 on
// LLMRouter's data, nearest-neighbour task agreement 0.73 against 0.81.
//
// The zero Builtin is not an encoder (only the receiver of
// UnmarshalBinary).
//
// Fitting is deterministic: equal prompts (in equal order) and equal
// configurations give identical encoders on a given architecture,
// whatever the number of CPUs. Across architectures the fitted numbers
// may differ in their last bits (some compilers fuse multiply-adds), so
// pin a fitted encoder by saving it, not by its seed.
type Builtin struct {
	cfg      BuiltinConfig // resolved, no zero fields
	docs     int           // distinct training prompts
	flags    uint32
	buckets  []uint32  // kept bucket ids, by decreasing df
	idf      []float32 // per kept bucket
	sigma    []float32 // singular values, descending
	fallback []float32 // unit vector for texts with no known feature
	proj     []float32 // len(buckets) x Dim, row-major (format 1, and while fitting)
	qproj    []int8    // len(buckets) x Dim, row-major (format 2)
	qscale   []float32 // per row of qproj: its values are qscale[r]·qproj
	row      []int32   // bucket -> row of the projection, or -1
	bkt      bucketer
	digest   string
	pool     sync.Pool // *builtinScratch
}

// Flags of the saved state.
const (
	// builtinFlagInvSigma: the projection is V scaled by 1/sigma (a
	// test-only variant).
	builtinFlagInvSigma = 1 << 0
	builtinKnownFlags   = builtinFlagInvSigma
)

// Dim is the number of components of a vector.
func (b *Builtin) Dim() int { return b.cfg.Dim }

// Config returns the configuration the encoder was fitted with, zero
// fields replaced by their defaults.
func (b *Builtin) Config() BuiltinConfig { return b.cfg }

// NumFeatures is the number of hash buckets the encoder kept (rows of its
// projection).
func (b *Builtin) NumFeatures() int { return len(b.buckets) }

// TrainingPrompts is the number of distinct prompts the encoder was
// fitted on.
func (b *Builtin) TrainingPrompts() int { return b.docs }

// SingularValues returns the Dim singular values of the training matrix
// found by the fit, in decreasing order.
func (b *Builtin) SingularValues() []float64 {
	s := make([]float64, len(b.sigma))
	for i, v := range b.sigma {
		s[i] = float64(v)
	}
	return s
}

// Identity is the encoder's identity: Kind "builtin", Params dim,
// buckets, word_ngrams, char_ngrams ("1-2", or "off"), max_tokens and
// seed, and Digest the SHA-256 of its serialisation (WriteTo).
func (b *Builtin) Identity() Identity {
	c := b.cfg
	return Identity{
		Kind: BuiltinKind,
		Params: map[string]string{
			"dim":         strconv.Itoa(c.Dim),
			"buckets":     strconv.Itoa(c.Buckets),
			"word_ngrams": ngramString(c.WordNgrams),
			"char_ngrams": ngramString(c.CharNgrams),
			"max_tokens":  strconv.Itoa(c.MaxTokens),
			"seed":        strconv.FormatUint(c.Seed, 10),
		},
		Digest: b.digest,
	}
}

// Encode returns one L2-normalised vector of Dim() components per text,
// in order. It stops with ctx's error when ctx is done. Large batches are
// encoded on several goroutines.
func (b *Builtin) Encode(ctx context.Context, texts []string) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := b.cfg.Dim
	out := make([][]float32, len(texts))
	backing := make([]float32, len(texts)*d)
	for i := range out {
		out[i] = backing[i*d : (i+1)*d : (i+1)*d]
	}
	workers := min(runtime.GOMAXPROCS(0), len(texts)/8)
	if workers <= 1 {
		sc := b.getScratch()
		defer b.putScratch(sc)
		for i, t := range texts {
			if i&63 == 63 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			b.encodeInto(t, sc, out[i])
		}
		return out, nil
	}
	err := parallelFor(ctx, len(texts), 16, workers, func(lo, hi int) {
		sc := b.getScratch()
		for i := lo; i < hi; i++ {
			b.encodeInto(texts[i], sc, out[i])
		}
		b.putScratch(sc)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// builtinScratch is the per-goroutine working memory of Encode.
type builtinScratch struct {
	feat  featScratch
	cnt   []int32 // per row: signed count
	seen  []bool  // per row: in touched
	touch []int32
	wts   []float32
}

// putScratch returns sc to the pool, unless a huge prompt grew it.
func (b *Builtin) putScratch(sc *builtinScratch) {
	if cap(sc.feat.low) <= 1<<20 && cap(sc.feat.feats) <= 1<<17 {
		b.pool.Put(sc)
	}
}

func (b *Builtin) getScratch() *builtinScratch {
	if sc, ok := b.pool.Get().(*builtinScratch); ok {
		return sc
	}
	n := len(b.buckets)
	return &builtinScratch{cnt: make([]int32, n), seen: make([]bool, n)}
}

// encodeInto writes the vector of text to dst (len Dim).
func (b *Builtin) encodeInto(text string, sc *builtinScratch, dst []float32) {
	fs := featurize(&b.cfg, text, &sc.feat)
	nWord := sc.feat.nWord
	bt := b.bkt
	touch := sc.touch[:0]
	for i, f := range fs {
		r := b.row[bt.bucket(f, i, nWord)]
		if r < 0 {
			continue
		}
		if !sc.seen[r] {
			sc.seen[r] = true
			touch = append(touch, r)
		}
		sc.cnt[r] += featSign(f)
	}
	clear(dst)
	d := b.cfg.Dim
	hit := false
	wts := sc.wts[:0]
	var ssWord, ssChar float64
	for _, r := range touch {
		c := sc.cnt[r]
		sc.cnt[r], sc.seen[r] = 0, false
		var w float64
		if c != 0 {
			w = tfWeight(c) * float64(b.idf[r])
			if bt.isChar(b.buckets[r]) {
				ssChar += w * w
			} else {
				ssWord += w * w
			}
		}
		wts = append(wts, float32(w))
	}
	sw, sch := blockScales(bt.split, ssWord, ssChar)
	var impl gonum.Implementation
	for i, r := range touch {
		w := wts[i]
		if w == 0 {
			continue
		}
		if bt.isChar(b.buckets[r]) {
			w *= float32(sch)
		} else {
			w *= float32(sw)
		}
		if b.qproj != nil {
			// The rows are random reads from a table larger than the
			// caches: ask for the one 6 ahead while this one is added,
			// which cut the encoding time by a fifth.
			if j := i + 6; j < len(touch) {
				next := int(touch[j]) * d
				prefetchInt8(b.qproj[next : next+d])
			}
			axpyInt8(w*b.qscale[r], b.qproj[int(r)*d:int(r+1)*d], dst)
		} else {
			impl.Saxpy(d, w, b.proj[int(r)*d:int(r+1)*d], 1, dst, 1)
		}
		hit = true
	}
	sc.wts = wts
	sc.touch = touch
	var ss float64
	if hit {
		for _, v := range dst {
			ss += float64(v) * float64(v)
		}
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		copy(dst, b.fallback)
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range dst {
		dst[i] *= inv
	}
}

// tfLog[c] = 1 + ln c for small counts.
var tfLog = func() [64]float64 {
	var t [64]float64
	for c := 1; c < len(t); c++ {
		t[c] = 1 + math.Log(float64(c))
	}
	return t
}()

// tfWeight is the sublinear term frequency sign(c)·(1 + ln |c|) of a
// signed count c != 0.
func tfWeight(c int32) float64 {
	a := c
	if a < 0 {
		a = -a
	}
	var w float64
	if int(a) < len(tfLog) {
		w = tfLog[a]
	} else {
		w = 1 + math.Log(float64(a))
	}
	if c < 0 {
		return -w
	}
	return w
}

// featSign is +1 or -1 from the top bit of a feature hash (the bucket
// takes the low bits).
func featSign(f uint64) int32 { return 1 - 2*int32(f>>63) }

// ----------------------------------------------------------------------
// Tokenisation and feature hashing (part of the format: changing any of
// it needs a new format version).

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// Seeds of the kinds of features.
	seedChar    = 0x9e3779b97f4a7c15
	tagWordGram = 0xc2b2ae3d27d4eb4f
	mixGram     = 0x165667b19e3779f9
	// Begin and end of word markers of character n-grams (never inside a
	// token).
	bowByte = 0x01
	eowByte = 0x02
)

// fmix64 is the MurmurHash3 64-bit finaliser.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// token kinds.
const (
	tokWord = iota
	tokSymbol
)

type token struct {
	s, e int32 // byte span in featScratch.low
	kind uint8
}

type featScratch struct {
	low   []byte   // lowercased token bytes
	toks  []token  // tokens
	th    []uint64 // token hashes
	pad   []byte   // padded word
	offs  []int32  // rune starts within pad
	feats []uint64 // feature hashes: the word n-grams, then the character n-grams
	nWord int      // number of word n-gram features in feats
}

// codeSymbol marks the ASCII characters that make symbol tokens.
var codeSymbol = func() (t [128]bool) {
	for _, c := range "!#$%&*+-/:;<=>?@\\^`|~()[]{}" {
		t[c] = true
	}
	return t
}()

// asciiClass maps the ASCII characters of words to their lowercase form,
// and the others to 0.
var asciiClass = func() (t [128]byte) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			t[c] = byte(c)
		case c >= 'A' && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}()

// ownToken reports runes of scripts written without spaces between
// words, which make a token each.
func ownToken(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r)
}

// tokenize fills sc.low and sc.toks with the tokens of text.
func tokenize(text string, sc *featScratch) {
	low := sc.low[:0]
	toks := sc.toks[:0]
	const none = -1
	wordStart, wordRunes := none, 0
	symStart := none
	endWord := func() {
		if wordStart != none {
			toks = append(toks, token{int32(wordStart), int32(len(low)), tokWord})
			wordStart = none
		}
	}
	endSym := func() {
		if symStart != none {
			toks = append(toks, token{int32(symStart), int32(len(low)), tokSymbol})
			symStart = none
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			if l := asciiClass[c]; l != 0 {
				endSym()
				if wordStart == none || wordRunes == builtinMaxWordRunes {
					endWord()
					wordStart, wordRunes = len(low), 0
				}
				low = append(low, l)
				wordRunes++
			} else if codeSymbol[c] {
				endWord()
				if symStart != none && len(low)-symStart == builtinMaxSymbolRun {
					endSym()
				}
				if symStart == none {
					symStart = len(low)
				}
				low = append(low, c)
			} else {
				endWord()
				endSym()
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			endWord()
			endSym()
		case ownToken(r):
			endWord()
			endSym()
			s := len(low)
			low = utf8.AppendRune(low, unicode.ToLower(r))
			toks = append(toks, token{int32(s), int32(len(low)), tokWord})
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			endSym()
			if wordStart == none || wordRunes == builtinMaxWordRunes {
				endWord()
				wordStart, wordRunes = len(low), 0
			}
			low = utf8.AppendRune(low, unicode.ToLower(r))
			wordRunes++
		case unicode.IsSymbol(r):
			endWord()
			endSym()
			s := len(low)
			low = utf8.AppendRune(low, r)
			toks = append(toks, token{int32(s), int32(len(low)), tokSymbol})
		default:
			endWord()
			endSym()
		}
	}
	endWord()
	endSym()
	sc.low, sc.toks = low, toks
}

// featurize returns the feature hashes of text (in sc.feats): the low
// bits give the bucket, the top bit the sign.
func featurize(c *BuiltinConfig, text string, sc *featScratch) []uint64 {
	tokenize(text, sc)
	toks := HeadTail(sc.toks, c.MaxTokens)
	low := sc.low
	feats := sc.feats[:0]
	if wlo, whi := c.WordNgrams[0], c.WordNgrams[1]; wlo > 0 {
		th := sc.th[:0]
		for _, t := range toks {
			th = append(th, fnv1a(fnvOffset, low[t.s:t.e]))
		}
		sc.th = th
		for i := range th {
			h := th[i]
			for n := 1; n <= whi && i+n <= len(th); n++ {
				if n > 1 {
					h = fmix64(h*mixGram ^ th[i+n-1])
				}
				if n >= wlo {
					feats = append(feats, fmix64(h+uint64(n)*tagWordGram))
				}
			}
		}
	}
	sc.nWord = len(feats)
	if clo, chi := c.CharNgrams[0], c.CharNgrams[1]; clo > 0 {
		pad, offs := sc.pad, sc.offs
		for _, t := range toks {
			if t.kind != tokWord {
				continue
			}
			w := low[t.s:t.e]
			pad = append(pad[:0], bowByte)
			pad = append(pad, w...)
			pad = append(pad, eowByte)
			offs = offs[:0]
			for j := 0; j < len(pad); {
				offs = append(offs, int32(j))
				if pad[j] < utf8.RuneSelf {
					j++
				} else {
					_, size := utf8.DecodeRune(pad[j:])
					j += size
				}
			}
			nr := len(offs)
			offs = append(offs, int32(len(pad)))
			if nr < clo {
				feats = append(feats, fmix64(fnv1a(seedChar, pad)))
				continue
			}
			for s := 0; s+clo <= nr; s++ {
				h := uint64(seedChar)
				for n := 1; n <= chi && s+n <= nr; n++ {
					h = fnv1a(h, pad[offs[s+n-1]:offs[s+n]])
					if n >= clo {
						feats = append(feats, fmix64(h))
					}
				}
			}
		}
		sc.pad, sc.offs = pad, offs
	}
	sc.feats = feats
	return feats
}

// builtinCharShare is the share of the squared norm of a TF-IDF vector
// given to the character n-grams when a prompt has both kinds.
const builtinCharShare = 1.0 / 3

// bucketer maps feature hashes to buckets: word and character n-grams
// hash into separate halves of the buckets when both are on.
type bucketer struct {
	split bool
	half  uint64
	mask  uint64
}

func newBucketer(c *BuiltinConfig) bucketer {
	if c.WordNgrams[0] > 0 && c.CharNgrams[0] > 0 {
		h := uint64(c.Buckets / 2)
		return bucketer{split: true, half: h, mask: h - 1}
	}
	return bucketer{mask: uint64(c.Buckets - 1)}
}

// bucket is the bucket of the i-th feature f of a prompt with nWord word
// features.
func (bt bucketer) bucket(f uint64, i, nWord int) uint64 {
	if bt.split && i >= nWord {
		return bt.half + f&bt.mask
	}
	return f & bt.mask
}

// isChar reports whether a bucket holds character n-grams.
func (bt bucketer) isChar(bk uint32) bool { return bt.split && uint64(bk) >= bt.half }

// blockScales returns the factors of the word and character parts of a
// TF-IDF vector whose parts have squared norms ssWord and ssChar, so that
// the vector has unit norm and the character part the share
// builtinCharShare of it (when both parts are nonzero).
func blockScales(split bool, ssWord, ssChar float64) (sw, sc float64) {
	switch {
	case ssWord+ssChar == 0:
		return 0, 0
	case !split || ssWord == 0 || ssChar == 0:
		inv := 1 / math.Sqrt(ssWord+ssChar)
		return inv, inv
	}
	return math.Sqrt((1 - builtinCharShare) / ssWord), math.Sqrt(builtinCharShare / ssChar)
}

// ----------------------------------------------------------------------
// Fitting.

// FitBuiltin fits a built-in encoder on training prompts (see
// BuiltinConfig). Exact duplicate prompts count once. It needs at least 2
// distinct prompts, and at least Dim of them with at least Dim features
// kept by MinDF, spanning at least Dim dimensions; otherwise the error
// wraps ErrBuiltinRank and says which Dim would work. It stops with ctx's
// error when ctx is done.
//
// Fitting uses all CPUs (GOMAXPROCS) and its cost grows linearly with
// the number of feature occurrences: with the defaults, on 2 cores,
// 20,000 synthetic prompts (about 190 characters each) take about 4 s and
// 100,000 about 18 s, with a peak of about 1.4 GB of memory (12 bytes
// per feature occurrence plus 12·(Dim+Oversample) bytes per prompt and
// per kept feature, roughly).
func FitBuiltin(ctx context.Context, prompts []string, cfg BuiltinConfig) (*Builtin, error) {
	return fitBuiltin(ctx, prompts, cfg, fitOptions{quantize: true})
}

// fitOptions are the variants of the fit that the tests compare.
type fitOptions struct {
	invSigma bool // scale the projection by 1/sigma
	quantize bool // int8 rows (format version 2), as FitBuiltin does
}

// quantize replaces the float32 projection by its int8 form (format
// version 2): each row divided by its largest magnitude over 127 and
// rounded to the nearest integer.
func (b *Builtin) quantize() {
	d := b.cfg.Dim
	rows := len(b.proj) / d
	b.qproj = make([]int8, len(b.proj))
	b.qscale = make([]float32, rows)
	for r := range rows {
		row := b.proj[r*d : (r+1)*d]
		var m float32
		for _, v := range row {
			m = max(m, float32(math.Abs(float64(v))))
		}
		if m == 0 {
			continue
		}
		s := m / 127
		b.qscale[r] = s
		q := b.qproj[r*d : (r+1)*d]
		for j, v := range row {
			q[j] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
	}
	b.proj = nil
}

// fitBuiltin is FitBuiltin with the variants of opt.
func fitBuiltin(ctx context.Context, prompts []string, cfg BuiltinConfig, opt fitOptions) (*Builtin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	docs := distinct(prompts)
	if len(docs) < 2 {
		return nil, fmt.Errorf("encoder: builtin: %d distinct training prompts, want at least 2", len(docs))
	}
	if len(docs) < cfg.Dim {
		return nil, fmt.Errorf("%w: %d distinct prompts for Dim %d (%s)",
			ErrBuiltinRank, len(docs), cfg.Dim, rankHint(len(docs), "more prompts"))
	}
	workers := runtime.GOMAXPROCS(0)

	a, cols, err := buildTFIDF(ctx, docs, &cfg, workers)
	if err != nil {
		return nil, err
	}
	m := len(cols.buckets)
	if m < cfg.Dim {
		return nil, fmt.Errorf("%w: %d features seen in at least MinDF=%d prompts for Dim %d (%s)",
			ErrBuiltinRank, m, cfg.MinDF, cfg.Dim, rankHint(m, "a lower MinDF or more prompts"))
	}
	iters := max(cfg.PowerIters, 0)
	v, sigma, err := randomizedSVD(ctx, a, m, cfg.Dim, cfg.Oversample, iters, cfg.Seed, opt.invSigma, workers)
	if err != nil {
		return nil, err
	}
	b := &Builtin{
		cfg:      cfg,
		docs:     len(docs),
		sigma:    sigma,
		fallback: meanDirection(a, v, m, cfg.Dim),
	}
	if opt.invSigma {
		b.flags |= builtinFlagInvSigma
	}
	// The rows stay in the order of the columns, by decreasing df (ties
	// by bucket id), so that the rows of frequent features share cache
	// lines and pages when encoding.
	b.buckets, b.idf, b.proj = cols.buckets, cols.idf, v
	if opt.quantize {
		b.quantize()
	}
	b.buildRows()
	if err := b.computeDigest(); err != nil {
		return nil, err
	}
	return b, nil
}

// rankHint suggests a remedy when only maxDim dimensions are available.
func rankHint(maxDim int, other string) string {
	if maxDim >= minBuiltinDim {
		return fmt.Sprintf("use Dim <= %d, or %s", maxDim, other)
	}
	return "use " + other
}

// distinct returns prompts without exact duplicates, in first-seen order.
func distinct(prompts []string) []string {
	seen := make(map[string]struct{}, len(prompts))
	out := make([]string, 0, len(prompts))
	for _, p := range prompts {
		if _, ok := seen[p]; ok {
			continue
		}
		seen[p] = struct{}{}
		out = append(out, p)
	}
	return out
}

// csr is a sparse row-major matrix.
type csr struct {
	rows int
	ptr  []int // len rows+1
	col  []int32
	val  []float32
}

type keptCols struct {
	buckets []uint32
	idf     []float32
}

// docChunk holds the signed bucket counts of a run of documents.
type docChunk struct {
	lens []int32
	bkt  []uint32
	cnt  []int32
}

// buildTFIDF featurises the documents and returns their L2-normalised
// TF-IDF matrix over the buckets kept by MinDF.
func buildTFIDF(ctx context.Context, docs []string, cfg *BuiltinConfig, workers int) (*csr, keptCols, error) {
	const chunk = 256
	nChunks := (len(docs) + chunk - 1) / chunk
	chunks := make([]docChunk, nChunks)
	bt := newBucketer(cfg)
	type fitScratch struct {
		feat  featScratch
		cnt   []int32
		seen  []bool
		touch []uint32
	}
	err := parallelFor(ctx, nChunks, 1, workers, func(lo, hi int) {
		sc := &fitScratch{cnt: make([]int32, cfg.Buckets), seen: make([]bool, cfg.Buckets)}
		for ci := lo; ci < hi; ci++ {
			var dc docChunk
			end := min((ci+1)*chunk, len(docs))
			for _, text := range docs[ci*chunk : end] {
				touch := sc.touch[:0]
				fs := featurize(cfg, text, &sc.feat)
				for i, f := range fs {
					bk := uint32(bt.bucket(f, i, sc.feat.nWord))
					if !sc.seen[bk] {
						sc.seen[bk] = true
						touch = append(touch, bk)
					}
					sc.cnt[bk] += featSign(f)
				}
				n := 0
				for _, bk := range touch {
					if c := sc.cnt[bk]; c != 0 {
						dc.bkt = append(dc.bkt, bk)
						dc.cnt = append(dc.cnt, c)
						n++
					}
					sc.cnt[bk], sc.seen[bk] = 0, false
				}
				dc.lens = append(dc.lens, int32(n))
				sc.touch = touch
			}
			chunks[ci] = dc
		}
	})
	if err != nil {
		return nil, keptCols{}, err
	}
	df := make([]int32, cfg.Buckets)
	for ci := range chunks {
		for _, bk := range chunks[ci].bkt {
			df[bk]++
		}
	}
	// Columns are the kept buckets by decreasing df, so that the rows of
	// the dense factors of frequent features sit together (cache locality
	// of the sparse products).
	colOf := make([]int32, cfg.Buckets)
	var kc keptCols
	for bk, d := range df {
		colOf[bk] = -1
		if int(d) >= cfg.MinDF {
			kc.buckets = append(kc.buckets, uint32(bk))
		}
	}
	slices.SortStableFunc(kc.buckets, func(x, y uint32) int { return cmp.Compare(df[y], df[x]) })
	n := float64(len(docs))
	kc.idf = make([]float32, len(kc.buckets))
	for j, bk := range kc.buckets {
		colOf[bk] = int32(j)
		kc.idf[j] = float32(1 + math.Log((1+n)/(1+float64(df[bk]))))
	}
	df = nil
	// Kept entries per chunk, then the rows of each chunk in parallel.
	chunkNNZ := make([]int, nChunks+1)
	if err := parallelFor(ctx, nChunks, 1, workers, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			k := 0
			for _, bk := range chunks[ci].bkt {
				if colOf[bk] >= 0 {
					k++
				}
			}
			chunkNNZ[ci+1] = k
		}
	}); err != nil {
		return nil, keptCols{}, err
	}
	for ci := 0; ci < nChunks; ci++ {
		chunkNNZ[ci+1] += chunkNNZ[ci]
	}
	nnz := chunkNNZ[nChunks]
	a := &csr{rows: len(docs), ptr: make([]int, len(docs)+1), col: make([]int32, nnz), val: make([]float32, nnz)}
	err = parallelFor(ctx, nChunks, 1, workers, func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			dc := &chunks[ci]
			out := chunkNNZ[ci]
			row := ci * chunk
			p := 0
			for _, l := range dc.lens {
				start := out
				var ssWord, ssChar float64
				for q := p; q < p+int(l); q++ {
					j := colOf[dc.bkt[q]]
					if j < 0 {
						continue
					}
					w := tfWeight(dc.cnt[q]) * float64(kc.idf[j])
					a.col[out] = j
					a.val[out] = float32(w)
					out++
					if bt.isChar(dc.bkt[q]) {
						ssChar += w * w
					} else {
						ssWord += w * w
					}
				}
				sw, sch := blockScales(bt.split, ssWord, ssChar)
				for q := start; q < out; q++ {
					if bt.isChar(kc.buckets[a.col[q]]) {
						a.val[q] = float32(float64(a.val[q]) * sch)
					} else {
						a.val[q] = float32(float64(a.val[q]) * sw)
					}
				}
				p += int(l)
				row++
				a.ptr[row] = out
			}
			*dc = docChunk{} // free as we go
		}
	})
	if err != nil {
		return nil, keptCols{}, err
	}
	return a, kc, ctx.Err()
}

// parallelFor runs fn over [0, n) in blocks of grain indices on workers
// goroutines, and returns ctx's error if ctx was done before the end.
// Results are deterministic when fn's work on an index does not depend on
// the other indices of its block.
func parallelFor(ctx context.Context, n, grain, workers int, fn func(lo, hi int)) error {
	if n == 0 {
		return ctx.Err()
	}
	workers = max(1, min(workers, (n+grain-1)/grain))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				lo := int(next.Add(int64(grain))) - grain
				if lo >= n {
					return
				}
				fn(lo, min(lo+grain, n))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// randomizedSVD returns the top k right singular vectors of the n×m
// matrix a as an m×k row-major float32 matrix (scaled by 1/sigma when
// invSigma), and the k singular values. Halko et al., algorithm 4.4 with
// re-orthonormalisation of the n-side after each application of A·Aᵀ.
func randomizedSVD(ctx context.Context, a *csr, m, k, over, iters int, seed uint64, invSigma bool, workers int) ([]float32, []float32, error) {
	n := a.rows
	l := min(k+over, n, m)
	// The sparse products run in float32 on panel-major factors (see
	// panelMat); the orthonormalisation and the final SVD in float64.
	np := panels(l, workers)
	x := newPanelMat(m, l, np) // Ω, then Z = AᵀQ
	if err := parallelFor(ctx, m, 1024, workers, func(lo, hi int) {
		row := make([]float64, l)
		for j := lo; j < hi; j++ {
			gaussianRow(row, seed, uint64(j))
			x.setRow(j, row)
		}
	}); err != nil {
		return nil, nil, err
	}
	y := newPanelMat(n, l, np)
	y64 := make([]float64, n*l)
	orth := func() error {
		y.toRowMajor(y64)
		if err := orthonormalize(ctx, y64, n, l, workers); err != nil {
			return err
		}
		y.fromRowMajor(y64)
		return nil
	}
	if err := mulAX(ctx, a, x, y, workers); err != nil {
		return nil, nil, err
	}
	if err := orth(); err != nil {
		return nil, nil, err
	}
	for it := 0; it < iters; it++ {
		if err := mulATX(ctx, a, y, x, workers); err != nil {
			return nil, nil, err
		}
		if err := mulAX(ctx, a, x, y, workers); err != nil {
			return nil, nil, err
		}
		if err := orth(); err != nil {
			return nil, nil, err
		}
	}
	// Z = AᵀQ = Bᵀ with B = QᵀA (l×m); B·Bᵀ = ZᵀZ = U Σ² Uᵀ and V = Z U Σ⁻¹.
	if err := mulATX(ctx, a, y, x, workers); err != nil {
		return nil, nil, err
	}
	y, y64 = nil, nil
	z := make([]float64, m*l)
	x.toRowMajor(z)
	x = nil
	g, err := gram(ctx, z, m, l, workers)
	if err != nil {
		return nil, nil, err
	}
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(l, g), true) {
		return nil, nil, errors.New("encoder: builtin: eigendecomposition of the projected Gram matrix failed")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	sigma := make([]float32, k)
	w := make([]float64, l*k) // U_k Σ_k⁻¹ (or Σ_k⁻²)
	top := math.Sqrt(max(vals[l-1], 0))
	for c := 0; c < k; c++ {
		e := l - 1 - c
		s := math.Sqrt(max(vals[e], 0))
		if !(s > 1e-6*top) {
			return nil, nil, fmt.Errorf("%w: the training prompts span about %d dimensions, fewer than Dim %d (%s)",
				ErrBuiltinRank, c, k, rankHint(c, "more varied prompts"))
		}
		sigma[c] = float32(s)
		scale := 1 / s
		if invSigma {
			scale /= s
		}
		for r := 0; r < l; r++ {
			w[r*k+c] = vecs.At(r, e) * scale
		}
	}
	v := make([]float32, m*k)
	if err := parallelFor(ctx, m, 256, workers, func(lo, hi int) {
		acc := make([]float64, k)
		for j := lo; j < hi; j++ {
			clear(acc)
			zr := z[j*l : (j+1)*l]
			for r, x := range zr {
				if x != 0 {
					daxpy(acc, x, w[r*k:(r+1)*k])
				}
			}
			vr := v[j*k : (j+1)*k]
			for c, x := range acc {
				vr[c] = float32(x)
			}
		}
	}); err != nil {
		return nil, nil, err
	}
	// Fix the signs: the largest entry of each singular vector is positive.
	best := make([]float32, k)
	flip := make([]bool, k)
	for j := 0; j < m; j++ {
		for c, x := range v[j*k : (j+1)*k] {
			if ax := float32(math.Abs(float64(x))); ax > best[c] {
				best[c], flip[c] = ax, x < 0
			}
		}
	}
	for j := 0; j < m; j++ {
		vr := v[j*k : (j+1)*k]
		for c := range vr {
			if flip[c] {
				vr[c] = -vr[c]
			}
		}
	}
	return v, sigma, nil
}

// gaussianRow fills dst with standard normal draws of a stream seeded by
// (seed, row): SplitMix64 and the Box-Muller transform.
func gaussianRow(dst []float64, seed, row uint64) {
	s := fmix64(seed*0x9e3779b97f4a7c15 ^ fmix64(row+0x632be59bd9b4e019))
	next := func() float64 { // uniform in (0, 1]
		s += 0x9e3779b97f4a7c15
		x := s
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		x ^= x >> 31
		return (float64(x>>11) + 1) / (1 << 53)
	}
	for i := 0; i < len(dst); i += 2 {
		r := math.Sqrt(-2 * math.Log(next()))
		sn, cs := math.Sincos(2 * math.Pi * next())
		dst[i] = r * cs
		if i+1 < len(dst) {
			dst[i+1] = r * sn
		}
	}
}

// daxpy sets y += alpha·x (gonum's assembly kernel).
func daxpy(y []float64, alpha float64, x []float64) {
	gonum.Implementation{}.Daxpy(len(x), alpha, x, 1, y, 1)
}

// panelMat is a dense rows×l float32 matrix stored by panels of
// columns: panel p holds columns [c0, c1) of every row, row-major, at
// data[rows·c0:]. The sparse products touch one panel at a time, so that
// the rows of the frequent features (the columns of A are sorted by
// decreasing df) stay in the cache and in few memory pages.
type panelMat struct {
	rows, l, np int
	data        []float32
}

// panelWidth is the largest width of a panel.
const panelWidth = 64

// panels returns the number of column panels of an l-column factor: a
// multiple of the number of workers, of at most panelWidth columns.
func panels(l, workers int) int {
	per := (l + workers*panelWidth - 1) / (workers * panelWidth)
	return max(1, min(l, per*workers))
}

func newPanelMat(rows, l, np int) *panelMat {
	return &panelMat{rows: rows, l: l, np: np, data: make([]float32, rows*l)}
}

// cols returns the columns [c0, c1) of panel p.
func (pm *panelMat) cols(p int) (c0, c1 int) { return p * pm.l / pm.np, (p + 1) * pm.l / pm.np }

// panel returns panel p and its width.
func (pm *panelMat) panel(p int) ([]float32, int) {
	c0, c1 := pm.cols(p)
	return pm.data[pm.rows*c0 : pm.rows*c1], c1 - c0
}

func (pm *panelMat) setRow(i int, v []float64) {
	for p := 0; p < pm.np; p++ {
		d, w := pm.panel(p)
		c0, _ := pm.cols(p)
		for c := 0; c < w; c++ {
			d[i*w+c] = float32(v[c0+c])
		}
	}
}

func (pm *panelMat) toRowMajor(dst []float64) {
	for p := 0; p < pm.np; p++ {
		d, w := pm.panel(p)
		c0, _ := pm.cols(p)
		for i := 0; i < pm.rows; i++ {
			for c, v := range d[i*w : (i+1)*w] {
				dst[i*pm.l+c0+c] = float64(v)
			}
		}
	}
}

func (pm *panelMat) fromRowMajor(src []float64) {
	for p := 0; p < pm.np; p++ {
		d, w := pm.panel(p)
		c0, _ := pm.cols(p)
		for i := 0; i < pm.rows; i++ {
			for c := range d[i*w : (i+1)*w] {
				d[i*w+c] = float32(src[i*pm.l+c0+c])
			}
		}
	}
}

// saxpy sets y += alpha·x (gonum's assembly kernel).
func saxpy(y []float32, alpha float32, x []float32) {
	gonum.Implementation{}.Saxpy(len(x), alpha, x, 1, y, 1)
}

// mulAX sets y = a · x. Each entry of y is summed in the order of the
// row's entries by one goroutine, whatever the number of workers.
func mulAX(ctx context.Context, a *csr, x, y *panelMat, workers int) error {
	const rowBlock = 2048
	nrb := (a.rows + rowBlock - 1) / rowBlock
	return parallelFor(ctx, x.np*nrb, 1, workers, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			p, rb := t/nrb, t%nrb
			xp, w := x.panel(p)
			yp, _ := y.panel(p)
			for i := rb * rowBlock; i < min((rb+1)*rowBlock, a.rows); i++ {
				yi := yp[i*w : (i+1)*w]
				clear(yi)
				for q := a.ptr[i]; q < a.ptr[i+1]; q++ {
					j := int(a.col[q])
					saxpy(yi, a.val[q], xp[j*w:(j+1)*w])
				}
			}
		}
	})
}

// mulATX sets z = aᵀ · q. Goroutines split the panels, so that each
// entry of z is summed in row order by one goroutine.
func mulATX(ctx context.Context, a *csr, q, z *panelMat, workers int) error {
	return parallelFor(ctx, q.np, 1, workers, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			qp, w := q.panel(p)
			zp, _ := z.panel(p)
			clear(zp)
			for i := 0; i < a.rows; i++ {
				if i&4095 == 0 && ctx.Err() != nil {
					return
				}
				qi := qp[i*w : (i+1)*w]
				for k := a.ptr[i]; k < a.ptr[i+1]; k++ {
					j := int(a.col[k])
					saxpy(zp[j*w:(j+1)*w], a.val[k], qi)
				}
			}
		}
	})
}

// gram returns xᵀx (l×l, row-major, full) of the r×l matrix x. Fixed
// blocks of rows are summed separately and then in order, so the result
// does not depend on the number of workers.
func gram(ctx context.Context, x []float64, r, l, workers int) ([]float64, error) {
	const blockRows = 2048
	nb := (r + blockRows - 1) / blockRows
	parts := make([][]float64, nb)
	err := parallelFor(ctx, nb, 1, workers, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			g := make([]float64, l*l)
			for i := b * blockRows; i < min((b+1)*blockRows, r); i++ {
				xi := x[i*l : (i+1)*l]
				for c, v := range xi {
					if v != 0 {
						daxpy(g[c*l+c:(c+1)*l], v, xi[c:])
					}
				}
			}
			parts[b] = g
		}
	})
	if err != nil {
		return nil, err
	}
	g := parts[0]
	for _, p := range parts[1:] {
		floats.Add(g, p)
	}
	for c := 0; c < l; c++ {
		for d := c + 1; d < l; d++ {
			g[d*l+c] = g[c*l+d]
		}
	}
	return g, nil
}

// orthonormalize replaces the columns of y (n×l) by an orthonormal basis
// of their span: Cholesky QR, in two rounds (CholeskyQR2) when y is not
// well conditioned, falling back to Householder QR when the Gram matrix
// is not numerically positive definite.
func orthonormalize(ctx context.Context, y []float64, n, l, workers int) error {
	for round := 0; round < 2; round++ {
		g, err := gram(ctx, y, n, l, workers)
		if err != nil {
			return err
		}
		var ch mat.Cholesky
		ok := ch.Factorize(mat.NewSymDense(l, g))
		var u blas64.Triangular
		if ok {
			var ut mat.TriDense
			ch.UTo(&ut)
			u = ut.RawTriangular()
			dmax, dmin := 0.0, math.Inf(1)
			for d := 0; d < l; d++ {
				dmax = max(dmax, u.Data[d*u.Stride+d])
				dmin = min(dmin, u.Data[d*u.Stride+d])
			}
			ok = dmin > 1e-7*dmax
			// A second round is needed only when y is ill-conditioned:
			// the loss of orthogonality of one round is about
			// eps·cond(y)², and dmax/dmin estimates cond(y).
			if ok && dmin > 1e-4*dmax {
				round = 1
			}
			if ok {
				// y ← y·U⁻¹, row by row (forward substitution).
				err = parallelFor(ctx, n, 256, workers, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						yi := y[i*l : (i+1)*l]
						for c := 0; c < l; c++ {
							yi[c] /= u.Data[c*u.Stride+c]
							if c+1 < l && yi[c] != 0 {
								daxpy(yi[c+1:], -yi[c], u.Data[c*u.Stride+c+1:c*u.Stride+l])
							}
						}
					}
				})
				if err != nil {
					return err
				}
				continue
			}
		}
		householderQ(y, n, l)
		return ctx.Err()
	}
	return nil
}

// householderQ replaces y (n×l, n >= l) by the thin Q of its QR
// factorisation.
func householderQ(y []float64, n, l int) {
	a := blas64.General{Rows: n, Cols: l, Stride: l, Data: y}
	tau := make([]float64, l)
	q1, q2 := make([]float64, 1), make([]float64, 1)
	lapack64.Geqrf(a, tau, q1, -1)
	lapack64.Orgqr(a, tau, q2, -1)
	work := make([]float64, int(max(q1[0], q2[0], 1)))
	lapack64.Geqrf(a, tau, work, len(work))
	lapack64.Orgqr(a, tau, work, len(work))
}

// meanDirection is the unit vector of the projection of the mean row of
// a, or the first axis if it is zero.
func meanDirection(a *csr, v []float32, m, k int) []float32 {
	colMean := make([]float64, m)
	for p, j := range a.col {
		colMean[j] += float64(a.val[p])
	}
	acc := make([]float64, k)
	for j, s := range colMean {
		if s == 0 {
			continue
		}
		for c, x := range v[j*k : (j+1)*k] {
			acc[c] += s * float64(x)
		}
	}
	out := make([]float32, k)
	norm := floats.Norm(acc, 2)
	if !(norm > 0) || math.IsInf(norm, 0) {
		out[0] = 1
		return out
	}
	for c, x := range acc {
		out[c] = float32(x / norm)
	}
	return out
}

// buildRows fills the bucket -> row index.
func (b *Builtin) buildRows() {
	b.bkt = newBucketer(&b.cfg)
	b.row = make([]int32, b.cfg.Buckets)
	for i := range b.row {
		b.row[i] = -1
	}
	for r, bk := range b.buckets {
		b.row[bk] = int32(r)
	}
}

// ----------------------------------------------------------------------
// Serialisation.

// builtinMagic and a format version open a serialised built-in encoder.
// Version 1 stores the projection as float32, version 2 as int8 with a
// scale per row; FitBuiltin makes version 2, and both are read.
const (
	builtinMagic       = "RKBE"
	builtinVersionF32  = 1
	builtinVersionInt8 = 2
	builtinHeaderSize  = 68
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the fitted encoder in the built-in binary format,
// version 2 (version 1 for an encoder read from version 1). All numbers
// are little-endian; ints are int32 unless noted.
//
//	offset  size  field
//	0       4     magic "RKBE"
//	4       4     format version (uint32): 1 or 2
//	8       4     Dim
//	12      4     Buckets
//	16      4     MaxTokens
//	20      8     WordNgrams min, max ({-1, -1} when off)
//	28      8     CharNgrams min, max ({-1, -1} when off)
//	36      4     MinDF
//	40      8     Seed (uint64)
//	48      4     Oversample
//	52      4     PowerIters (-1 for none)
//	56      4     flags (uint32; bit 0: projection scaled by 1/sigma)
//	60      4     distinct training prompts
//	64      4     R, the number of kept buckets
//	68      4R    kept bucket ids (uint32), distinct, by decreasing df
//	        4R    idf of each kept bucket (float32), so increasing
//	        4·Dim singular values (float32), decreasing
//	        4·Dim fallback vector (float32, unit norm)
//	        4·R·Dim version 1: projection, row of each kept bucket (float32)
//	        4·R     version 2: scale of each row of the projection (float32)
//	        R·Dim   version 2: projection, row of each kept bucket (int8);
//	                row r stands for scale[r] times its values
//	        4     CRC-32C (Castagnoli) of all the bytes before
//
// The configuration fields are resolved (no zeros). The tokenisation and
// hashing described at BuiltinConfig are part of the format version.
func (b *Builtin) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<16)
	crc := crc32.New(castagnoli)
	mw := io.MultiWriter(bw, crc)
	if err := b.writeBody(mw); err != nil {
		return cw.n, err
	}
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc.Sum32())
	if _, err := bw.Write(tail[:]); err != nil {
		return cw.n, err
	}
	err := bw.Flush()
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (b *Builtin) header() []byte {
	c := b.cfg
	h := make([]byte, 0, builtinHeaderSize)
	le := binary.LittleEndian
	h = append(h, builtinMagic...)
	h = le.AppendUint32(h, b.version())
	for _, v := range []int{c.Dim, c.Buckets, c.MaxTokens, c.WordNgrams[0], c.WordNgrams[1],
		c.CharNgrams[0], c.CharNgrams[1], c.MinDF} {
		h = le.AppendUint32(h, uint32(int32(v)))
	}
	h = le.AppendUint64(h, c.Seed)
	h = le.AppendUint32(h, uint32(int32(c.Oversample)))
	h = le.AppendUint32(h, uint32(int32(c.PowerIters)))
	h = le.AppendUint32(h, b.flags)
	h = le.AppendUint32(h, uint32(b.docs))
	h = le.AppendUint32(h, uint32(len(b.buckets)))
	return h
}

// version is the format version of b's serialisation.
func (b *Builtin) version() uint32 {
	if b.qproj != nil {
		return builtinVersionInt8
	}
	return builtinVersionF32
}

func (b *Builtin) writeBody(w io.Writer) error {
	if _, err := w.Write(b.header()); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for _, bk := range b.buckets {
		buf = binary.LittleEndian.AppendUint32(buf, bk)
		if len(buf) == cap(buf) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	floats := [][]float32{b.idf, b.sigma, b.fallback, b.proj}
	if b.qproj != nil {
		floats[3] = b.qscale
	}
	for _, s := range floats {
		for _, x := range s {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	for q := b.qproj; len(q) > 0; {
		n := min(len(q), cap(buf)-len(buf))
		for _, x := range q[:n] {
			buf = append(buf, byte(x))
		}
		q = q[n:]
		if err := flush(); err != nil {
			return err
		}
	}
	return flush()
}

// computeDigest sets the digest to the SHA-256 of the serialisation.
func (b *Builtin) computeDigest() error {
	h := sha256.New()
	if _, err := b.WriteTo(h); err != nil {
		return err
	}
	b.digest = hex.EncodeToString(h.Sum(nil))
	return nil
}

// MarshalBinary returns the serialisation of WriteTo.
func (b *Builtin) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(builtinHeaderSize + 4 + 12*len(b.buckets) + 4*len(b.proj) + len(b.qproj) + 8*b.cfg.Dim)
	if _, err := b.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary replaces b by the encoder serialised in data (see
// ReadBuiltin), which must hold nothing else. It must not run
// concurrently with other methods of b.
func (b *Builtin) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	nb, err := ReadBuiltin(r)
	if err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("encoder: builtin: %d bytes after the end of the encoder", r.Len())
	}
	b.cfg, b.docs, b.flags = nb.cfg, nb.docs, nb.flags
	b.buckets, b.idf, b.sigma, b.fallback = nb.buckets, nb.idf, nb.sigma, nb.fallback
	b.proj, b.qproj, b.qscale = nb.proj, nb.qproj, nb.qscale
	b.row, b.bkt, b.digest = nb.row, nb.bkt, nb.digest
	b.pool = sync.Pool{}
	return nil
}

// errBuiltinFormat is wrapped by the errors of ReadBuiltin about the
// content of its input.
var errBuiltinFormat = errors.New("encoder: builtin: bad encoder data")

// ReadBuiltin reads an encoder written by WriteTo, reading exactly its
// bytes from r. It reads format versions 1 and 2 and refuses others,
// and truncated or
// corrupt input (checked field by field, then by the CRC), with an error
// that says what is wrong.
func ReadBuiltin(r io.Reader) (*Builtin, error) {
	sum := sha256.New()
	crc := crc32.New(castagnoli)
	rd := &hashReader{r: r, hs: []hash.Hash{sum, crc}}
	var h [builtinHeaderSize]byte
	if err := rd.full(h[:8], "header"); err != nil {
		return nil, err
	}
	if string(h[:4]) != builtinMagic {
		return nil, fmt.Errorf("%w: magic %q, want %q (not a built-in encoder)", errBuiltinFormat, h[:4], builtinMagic)
	}
	le := binary.LittleEndian
	version := le.Uint32(h[4:8])
	if version != builtinVersionF32 && version != builtinVersionInt8 {
		return nil, fmt.Errorf("%w: format version %d, this build reads versions %d and %d",
			errBuiltinFormat, version, builtinVersionF32, builtinVersionInt8)
	}
	if err := rd.full(h[8:], "header"); err != nil {
		return nil, err
	}
	i32 := func(off int) int { return int(int32(le.Uint32(h[off:]))) }
	cfg := BuiltinConfig{
		Dim:        i32(8),
		Buckets:    i32(12),
		MaxTokens:  i32(16),
		WordNgrams: [2]int{i32(20), i32(24)},
		CharNgrams: [2]int{i32(28), i32(32)},
		MinDF:      i32(36),
		Seed:       le.Uint64(h[40:]),
		Oversample: i32(48),
		PowerIters: i32(52),
	}
	if cfg.withDefaults() != cfg {
		return nil, fmt.Errorf("%w: configuration %+v has zero fields", errBuiltinFormat, cfg)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBuiltinFormat, err)
	}
	b := &Builtin{cfg: cfg, flags: le.Uint32(h[56:]), docs: int(le.Uint32(h[60:]))}
	rows := int(le.Uint32(h[64:]))
	if b.flags&^builtinKnownFlags != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", errBuiltinFormat, b.flags)
	}
	if b.docs < 2 || b.docs > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d training prompts, want at least 2", errBuiltinFormat, b.docs)
	}
	if rows < 1 || rows > cfg.Buckets {
		return nil, fmt.Errorf("%w: %d kept buckets, want 1 to %d", errBuiltinFormat, rows, cfg.Buckets)
	}
	var err error
	if b.buckets, err = readU32s(rd, rows, "bucket ids"); err != nil {
		return nil, err
	}
	for i, bk := range b.buckets {
		if int(bk) >= cfg.Buckets {
			return nil, fmt.Errorf("%w: bucket id %d at %d beyond %d", errBuiltinFormat, bk, i, cfg.Buckets)
		}
	}
	if sorted := slices.Sorted(slices.Values(b.buckets)); len(slices.Compact(sorted)) != rows {
		return nil, fmt.Errorf("%w: repeated bucket ids", errBuiltinFormat)
	}
	if b.idf, err = readF32s(rd, rows, "idf"); err != nil {
		return nil, err
	}
	for i, x := range b.idf {
		if !(x >= 1) || math.IsInf(float64(x), 0) || (i > 0 && x < b.idf[i-1]) {
			return nil, fmt.Errorf("%w: idf %v of bucket %d, want finite values >= 1 in increasing order", errBuiltinFormat, x, b.buckets[i])
		}
	}
	if b.sigma, err = readF32s(rd, cfg.Dim, "singular values"); err != nil {
		return nil, err
	}
	for i, x := range b.sigma {
		if !(x > 0) || math.IsInf(float64(x), 0) || (i > 0 && x > b.sigma[i-1]) {
			return nil, fmt.Errorf("%w: singular value %d is %v, want positive, finite and decreasing", errBuiltinFormat, i, x)
		}
	}
	if b.fallback, err = readF32s(rd, cfg.Dim, "fallback vector"); err != nil {
		return nil, err
	}
	var ss float64
	for _, x := range b.fallback {
		ss += float64(x) * float64(x)
	}
	if !(math.Abs(ss-1) < 1e-3) {
		return nil, fmt.Errorf("%w: fallback vector of squared norm %v, want 1", errBuiltinFormat, ss)
	}
	if version == builtinVersionF32 {
		if b.proj, err = readF32s(rd, rows*cfg.Dim, "projection"); err != nil {
			return nil, err
		}
		for i, x := range b.proj {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: projection entry %d is %v", errBuiltinFormat, i, x)
			}
		}
	} else {
		if b.qscale, err = readF32s(rd, rows, "row scales"); err != nil {
			return nil, err
		}
		for i, x := range b.qscale {
			if !(x >= 0) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("%w: scale %v of row %d, want finite and >= 0", errBuiltinFormat, x, i)
			}
		}
		if b.qproj, err = readInt8s(rd, rows*cfg.Dim, "projection"); err != nil {
			return nil, err
		}
	}
	want := crc.Sum32()
	var tail [4]byte
	if err := rd.full(tail[:], "checksum"); err != nil {
		return nil, err
	}
	if got := le.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x (corrupt data)", errBuiltinFormat, got, want)
	}
	b.digest = hex.EncodeToString(sum.Sum(nil))
	b.buildRows()
	return b, nil
}

// hashReader reads from r, feeding the bytes read to hs.
type hashReader struct {
	r  io.Reader
	hs []hash.Hash
	n  int64
}

func (h *hashReader) full(p []byte, what string) error {
	n, err := io.ReadFull(h.r, p)
	h.n += int64(n)
	for _, x := range h.hs {
		x.Write(p[:n])
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: truncated in the %s (%d bytes read)", errBuiltinFormat, what, h.n)
		}
		return fmt.Errorf("encoder: builtin: reading the %s: %w", what, err)
	}
	return nil
}

// readWords reads n little-endian 32-bit words, allocating as the data
// arrives (so that a corrupt count cannot make it allocate much more
// than the input holds).
func readWords(rd *hashReader, n int, what string, put func(uint32)) error {
	buf := make([]byte, 1<<16)
	for n > 0 {
		c := min(n, len(buf)/4)
		if err := rd.full(buf[:4*c], what); err != nil {
			return err
		}
		for i := 0; i < c; i++ {
			put(binary.LittleEndian.Uint32(buf[4*i:]))
		}
		n -= c
	}
	return nil
}

// readInt8s reads n bytes as int8, allocating as the data arrives.
func readInt8s(rd *hashReader, n int, what string) ([]int8, error) {
	out := make([]int8, 0, min(n, 1<<16))
	buf := make([]byte, 1<<16)
	for n > 0 {
		c := min(n, len(buf))
		if err := rd.full(buf[:c], what); err != nil {
			return nil, err
		}
		for _, x := range buf[:c] {
			out = append(out, int8(x))
		}
		n -= c
	}
	return out, nil
}

func readU32s(rd *hashReader, n int, what string) ([]uint32, error) {
	out := make([]uint32, 0, min(n, 1<<16))
	err := readWords(rd, n, what, func(w uint32) { out = append(out, w) })
	return out, err
}

func readF32s(rd *hashReader, n int, what string) ([]float32, error) {
	out := make([]float32, 0, min(n, 1<<16))
	err := readWords(rd, n, what, func(w uint32) { out = append(out, math.Float32frombits(w)) })
	return out, err
}

// SaveBuiltin writes b to path atomically: to a temporary file in the
// same directory, synced, then renamed over path.
func SaveBuiltin(path string, b *Builtin) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("encoder: builtin: saving: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = b.WriteTo(f); err != nil {
		return fmt.Errorf("encoder: builtin: saving %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("encoder: builtin: saving %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("encoder: builtin: saving %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("encoder: builtin: saving %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("encoder: builtin: saving %s: %w", path, err)
	}
	return nil
}

// LoadBuiltin reads an encoder saved by SaveBuiltin (or WriteTo). The
// file must hold nothing else.
func LoadBuiltin(path string) (*Builtin, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("encoder: builtin: loading: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	b, err := ReadBuiltin(br)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the end of the encoder in %s", errBuiltinFormat, path)
	}
	return b, nil
}
