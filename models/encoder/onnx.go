package encoder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	ort "github.com/yalue/onnxruntime_go"
)

// Errors of the ONNX encoder, for errors.Is. The wrapped messages say what
// is wrong and how to fix it.
var (
	// ErrORTLibrary: the ONNX Runtime shared library is not configured,
	// not found or cannot be loaded.
	ErrORTLibrary = errors.New("encoder: ONNX Runtime library unavailable")
	// ErrORTConflict: ONNX Runtime was already initialised in this process
	// from another library file (it is process-global). It also matches
	// ErrORTLibrary.
	ErrORTConflict = errors.New("encoder: ONNX Runtime already initialised from another library")
	// ErrONNXModelDir: a file of the model directory is missing, unreadable
	// or malformed (model.onnx, tokenizer.json, config.json, routekit.json).
	ErrONNXModelDir = errors.New("encoder: bad ONNX model directory")
	// ErrONNXConfig: an option value is invalid (ONNXConfig or routekit.json).
	ErrONNXConfig = errors.New("encoder: bad ONNX encoder option")
	// ErrONNXInputs: the model's inputs are not input_ids, attention_mask
	// and optionally token_type_ids (integer [batch, sequence]).
	ErrONNXInputs = errors.New("encoder: ONNX model inputs do not match")
	// ErrONNXOutput: the configured output is missing, or is not a float32
	// [batch, sequence, hidden] tensor of the expected hidden size.
	ErrONNXOutput = errors.New("encoder: ONNX model output unusable")
	// ErrONNXClosed: Encode was called after Close.
	ErrONNXClosed = errors.New("encoder: ONNX encoder is closed")
)

// Files of an ONNX model directory.
const (
	ONNXModelFile     = "model.onnx"     // required
	ONNXTokenizerFile = "tokenizer.json" // required: Hugging Face tokenizers format
	ONNXConfigFile    = "config.json"    // optional: Hugging Face config (hidden_size, max_position_embeddings)
	ONNXRoutekitFile  = "routekit.json"  // optional: pooling, max_length, output, normalize
)

// Defaults of the ONNX encoder.
const (
	DefaultONNXBatchSize = 32
	DefaultONNXMaxLength = 512
	DefaultONNXOutput    = "last_hidden_state"
	DefaultONNXPooling   = "mean"
)

// ONNXConfig configures NewONNX. Zero values mean defaults, except
// LibraryPath, which is required.
type ONNXConfig struct {
	// LibraryPath is the ONNX Runtime shared library (libonnxruntime.so).
	// `make setup` puts it at .cache/ort/libonnxruntime.so.1.30.0; the
	// command line takes it from ROUTEKIT_ORT_LIB. This package reads no
	// environment variable.
	LibraryPath string
	// Sessions is the number of ONNX Runtime sessions in the pool: the
	// number of batches run at the same time, by one Encode call or by
	// concurrent ones. Each session holds its own copy of the weights.
	// Default GOMAXPROCS.
	Sessions int
	// IntraOpThreads is the number of threads a session uses for one run.
	// Default 1 (parallelism comes from Sessions).
	IntraOpThreads int
	// BatchSize is the maximum number of texts per model run. Default 32.
	BatchSize int
	// MaxLength is the maximum number of tokens of a sequence, [CLS] and
	// [SEP] included; longer texts are truncated head+tail. Overrides
	// routekit.json max_length. Default: routekit.json, else config.json
	// max_position_embeddings (at most 512), else 512.
	MaxLength int
	// Pooling is "mean" (attention-mask-aware mean of the output vectors)
	// or "cls" (the first vector). Overrides routekit.json pooling.
	// Default "mean".
	Pooling string
}

// onnxRoutekitJSON is routekit.json: how routekit runs the model.
type onnxRoutekitJSON struct {
	Pooling   *string `json:"pooling"`
	MaxLength *int    `json:"max_length"`
	Output    *string `json:"output"`
	Normalize *bool   `json:"normalize"`
}

// onnxHFConfig is the part of a Hugging Face config.json the encoder uses.
type onnxHFConfig struct {
	ModelType             string `json:"model_type"`
	HiddenSize            int    `json:"hidden_size"`
	MaxPositionEmbeddings int    `json:"max_position_embeddings"`
}

// ONNX is an Encoder running a BERT-family model exported to ONNX through
// ONNX Runtime. It is safe for concurrent use; Close releases it.
//
// A model directory holds model.onnx (inputs input_ids, attention_mask and
// optionally token_type_ids, int64 or int32 [batch, sequence]; an output,
// default last_hidden_state, float32 [batch, sequence, hidden]),
// tokenizer.json (Hugging Face tokenizers), and optionally config.json
// (Hugging Face) and routekit.json:
//
//	{"pooling": "mean", "max_length": 128, "output": "last_hidden_state", "normalize": true}
//
// Long texts: a text's tokens beyond MaxLength minus the special tokens
// (2 for BERT's [CLS] and [SEP]) are truncated by HeadTail (the first half of
// that budget from the head of the text, the rest from its tail), then the
// special tokens are added, so a sequence never exceeds MaxLength. A text
// much longer than the budget (over 2×8 bytes per kept token) is not
// tokenised whole: a head and a tail piece, cut at whitespace, are, which
// gives the same ids for tokenizers that split at whitespace (the BERT
// family), at a cost set by the budget rather than by the text length.
//
// Encode splits the texts into batches of BatchSize, pads each batch
// (right) to its longest sequence, runs the batches on the session pool,
// pools (mean over the attention mask, or CLS) and L2-normalises (unless
// routekit.json says normalize: false).
type ONNX struct {
	tok        *onnxTokenizer
	inputNames []string // fed in this order: input_ids, attention_mask[, token_type_ids]
	int32In    bool     // the model takes int32 ids instead of int64
	output     string
	dim        int
	pooling    string
	normalize  bool
	batchSize  int
	id         Identity

	sessions []*onnxSession
	pool     chan *onnxSession
	closed   atomic.Bool
	done     chan struct{} // closed by Close
	closeOne sync.Once
}

type onnxSession struct {
	s    *ort.DynamicAdvancedSession
	opts *ort.RunOptions
}

var _ Encoder = (*ONNX)(nil)

// NewONNX loads the model directory dir. See ONNX and ONNXConfig.
func NewONNX(ctx context.Context, dir string, cfg ONNXConfig) (*ONNX, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := onnxCheckConfig(&cfg); err != nil {
		return nil, err
	}
	if err := InitORT(cfg.LibraryPath); err != nil {
		return nil, err
	}
	files, err := onnxReadDir(dir)
	if err != nil {
		return nil, err
	}
	rk, hf, err := onnxParseConfigs(dir, files)
	if err != nil {
		return nil, err
	}

	e := &ONNX{
		output:    DefaultONNXOutput,
		pooling:   DefaultONNXPooling,
		normalize: true,
		batchSize: cfg.BatchSize,
		done:      make(chan struct{}),
	}
	maxLen, maxLenFrom := DefaultONNXMaxLength, "the default"
	if hf.MaxPositionEmbeddings > 0 && hf.MaxPositionEmbeddings < maxLen {
		maxLen, maxLenFrom = hf.MaxPositionEmbeddings, ONNXConfigFile+" max_position_embeddings"
	}
	if rk.MaxLength != nil {
		maxLen, maxLenFrom = *rk.MaxLength, ONNXRoutekitFile+" max_length"
	}
	if cfg.MaxLength > 0 {
		maxLen, maxLenFrom = cfg.MaxLength, "ONNXConfig.MaxLength"
	}
	if maxLen < 1 {
		return nil, fmt.Errorf("%w: %s is %d, want > 0", ErrONNXConfig, maxLenFrom, maxLen)
	}
	if hf.MaxPositionEmbeddings > 0 && maxLen > hf.MaxPositionEmbeddings {
		return nil, fmt.Errorf("%w: %s is %d, but the model has only %d positions (%s max_position_embeddings)",
			ErrONNXConfig, maxLenFrom, maxLen, hf.MaxPositionEmbeddings, ONNXConfigFile)
	}
	poolFrom := "the default"
	if rk.Pooling != nil {
		e.pooling, poolFrom = *rk.Pooling, ONNXRoutekitFile+" pooling"
	}
	if cfg.Pooling != "" {
		e.pooling, poolFrom = cfg.Pooling, "ONNXConfig.Pooling"
	}
	if e.pooling != "mean" && e.pooling != "cls" {
		return nil, fmt.Errorf("%w: %s is %q, want \"mean\" or \"cls\"", ErrONNXConfig, poolFrom, e.pooling)
	}
	if rk.Output != nil {
		if *rk.Output == "" {
			return nil, fmt.Errorf("%w: %s output is empty", ErrONNXConfig, ONNXRoutekitFile)
		}
		e.output = *rk.Output
	}
	if rk.Normalize != nil {
		e.normalize = *rk.Normalize
	}

	e.tok, err = newONNXTokenizer(files[ONNXTokenizerFile], maxLen)
	if errors.Is(err, ErrONNXConfig) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrONNXModelDir, filepath.Join(dir, ONNXTokenizerFile), err)
	}

	modelPath := filepath.Join(dir, ONNXModelFile)
	ins, outs, err := onnxModelInfo(modelPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: ONNX Runtime cannot load it: %v", ErrONNXModelDir, modelPath, err)
	}
	if err := e.checkInputs(ins); err != nil {
		return nil, err
	}
	if err := e.checkOutput(outs, hf.HiddenSize); err != nil {
		return nil, err
	}

	if err := e.openSessions(modelPath, cfg.Sessions, cfg.IntraOpThreads); err != nil {
		e.Close()
		return nil, err
	}
	if e.dim <= 0 { // hidden size neither static in the graph nor in config.json
		v, err := e.Encode(ctx, []string{""})
		if err != nil {
			e.Close()
			return nil, err
		}
		e.dim = len(v[0])
	}
	e.id = onnxIdentity(map[string]string{
		"pooling":    e.pooling,
		"max_length": strconv.Itoa(maxLen),
		"dim":        strconv.Itoa(e.dim),
		"normalize":  strconv.FormatBool(e.normalize),
		"output":     e.output,
	}, onnxDigest(files), onnxPipelineVersion)
	return e, nil
}

// onnxPipelineVersion is the version of routekit's own code between the
// model files and the vectors of an ONNX encoder: the tokenizer.json
// fix-ups (onnxFixTokenizerJSON), tokenising, truncation and special
// tokens (onnxTokenizer), pooling and normalisation. Bump it whenever a
// change of that code can change a vector: the identity then changes, so
// artifacts made before are refused (artifact.ErrEncoderMismatch) and
// embedding caches recomputed instead of mixing old and new vectors.
// Changes that keep every vector (such as cutting long texts before
// tokenising, which gives the same ids) need no bump.
const onnxPipelineVersion = 1

// onnxIdentity is the identity of an ONNX encoder with these parameters
// and files digest, made by pipeline version pipeline. Version 1 is
// recorded by the absence of the "pipeline" parameter, so that the
// identities of artifacts and caches made before the parameter existed
// stay valid; later versions add "pipeline": "N".
func onnxIdentity(params map[string]string, digest string, pipeline int) Identity {
	if pipeline > 1 {
		params["pipeline"] = strconv.Itoa(pipeline)
	}
	return Identity{Kind: "onnx", Params: params, Digest: digest}
}

// onnxModelInfo lists the inputs and outputs of a model, loading it once
// without graph optimisations (cheaper than a session for running).
func onnxModelInfo(path string) (ins, outs []ort.InputOutputInfo, err error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer opts.Destroy()
	if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, err
	}
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return nil, nil, err
	}
	return ort.GetInputOutputInfoWithOptions(path, opts)
}

func onnxCheckConfig(cfg *ONNXConfig) error {
	if cfg.LibraryPath == "" {
		return fmt.Errorf("%w: no library path given; run `make setup` (it downloads %s) "+
			"and pass its path, e.g. ROUTEKIT_ORT_LIB=%s", ErrORTLibrary,
			".cache/ort/libonnxruntime.so.1.30.0", "$PWD/.cache/ort/libonnxruntime.so.1.30.0")
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"Sessions", &cfg.Sessions, max(1, runtime.GOMAXPROCS(0))},
		{"IntraOpThreads", &cfg.IntraOpThreads, 1},
		{"BatchSize", &cfg.BatchSize, DefaultONNXBatchSize},
		{"MaxLength", &cfg.MaxLength, 0},
	} {
		switch {
		case *f.v < 0:
			return fmt.Errorf("%w: ONNXConfig.%s is %d, want >= 0 (0 = default)", ErrONNXConfig, f.name, *f.v)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	return nil
}

// onnxReadDir reads the files of a model directory; optional files that are
// absent are missing from the map.
func onnxReadDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range []string{ONNXModelFile, ONNXTokenizerFile, ONNXConfigFile, ONNXRoutekitFile} {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			files[name] = b
		case errors.Is(err, fs.ErrNotExist) && (name == ONNXConfigFile || name == ONNXRoutekitFile):
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w: %s is missing (a model directory holds %s and %s, "+
				"optionally %s and %s)", ErrONNXModelDir, p, ONNXModelFile, ONNXTokenizerFile, ONNXConfigFile, ONNXRoutekitFile)
		default:
			return nil, fmt.Errorf("%w: %v", ErrONNXModelDir, err)
		}
	}
	return files, nil
}

func onnxParseConfigs(dir string, files map[string][]byte) (rk onnxRoutekitJSON, hf onnxHFConfig, err error) {
	if b, ok := files[ONNXRoutekitFile]; ok {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields() // a misspelt key would silently change the embeddings
		if err := d.Decode(&rk); err != nil {
			return rk, hf, fmt.Errorf("%w: %s: %v (known keys: pooling, max_length, output, normalize)",
				ErrONNXModelDir, filepath.Join(dir, ONNXRoutekitFile), err)
		}
	}
	if b, ok := files[ONNXConfigFile]; ok {
		if err := json.Unmarshal(b, &hf); err != nil {
			return rk, hf, fmt.Errorf("%w: %s: %v", ErrONNXModelDir, filepath.Join(dir, ONNXConfigFile), err)
		}
	}
	return rk, hf, nil
}

// onnxDigest is the hex SHA-256 over the model directory's files: for each
// of model.onnx, tokenizer.json, config.json, routekit.json in this order,
// its name and length then its contents, or its name and "absent".
func onnxDigest(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range []string{ONNXModelFile, ONNXTokenizerFile, ONNXConfigFile, ONNXRoutekitFile} {
		if b, ok := files[name]; ok {
			fmt.Fprintf(h, "%s %d\n", name, len(b))
			h.Write(b)
		} else {
			fmt.Fprintf(h, "%s absent\n", name)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func onnxInfoNames(infos []ort.InputOutputInfo) []string {
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = in.Name
	}
	return names
}

func (e *ONNX) checkInputs(ins []ort.InputOutputInfo) error {
	have := onnxInfoNames(ins)
	mismatch := func(why string) error {
		return fmt.Errorf("%w: %s; the model has inputs %q, routekit feeds input_ids and attention_mask "+
			"(and token_type_ids when the model has it)", ErrONNXInputs, why, have)
	}
	var types []ort.TensorElementDataType
	for _, want := range []string{"input_ids", "attention_mask"} {
		if !slices.Contains(have, want) {
			return mismatch("no input " + want)
		}
	}
	e.inputNames = []string{"input_ids", "attention_mask"}
	if slices.Contains(have, "token_type_ids") {
		e.inputNames = append(e.inputNames, "token_type_ids")
	}
	for _, in := range ins {
		if !slices.Contains(e.inputNames, in.Name) {
			return mismatch(fmt.Sprintf("unexpected input %q", in.Name))
		}
		if in.OrtValueType != ort.ONNXTypeTensor || len(in.Dimensions) != 2 {
			return mismatch(fmt.Sprintf("input %q is %s, want an integer [batch, sequence] tensor", in.Name, in.String()))
		}
		if in.DataType != ort.TensorElementDataTypeInt64 && in.DataType != ort.TensorElementDataTypeInt32 {
			return mismatch(fmt.Sprintf("input %q has element type %s, want int64 or int32", in.Name, in.DataType))
		}
		types = append(types, in.DataType)
	}
	for _, t := range types[1:] {
		if t != types[0] {
			return mismatch("inputs mix int32 and int64")
		}
	}
	e.int32In = types[0] == ort.TensorElementDataTypeInt32
	return nil
}

func (e *ONNX) checkOutput(outs []ort.InputOutputInfo, hidden int) error {
	i := slices.IndexFunc(outs, func(o ort.InputOutputInfo) bool { return o.Name == e.output })
	if i < 0 {
		return fmt.Errorf("%w: no output %q; the model has outputs %q (choose one with \"output\" in %s)",
			ErrONNXOutput, e.output, onnxInfoNames(outs), ONNXRoutekitFile)
	}
	o := outs[i]
	if o.OrtValueType != ort.ONNXTypeTensor || o.DataType != ort.TensorElementDataTypeFloat {
		return fmt.Errorf("%w: output %s, want a float32 tensor", ErrONNXOutput, o.String())
	}
	if len(o.Dimensions) != 3 {
		return fmt.Errorf("%w: output %q has rank %d (%v), want rank 3 [batch, sequence, hidden] (token vectors, pooled by routekit)",
			ErrONNXOutput, e.output, len(o.Dimensions), o.Dimensions)
	}
	d := int(o.Dimensions[2])
	switch {
	case d > 0 && hidden > 0 && d != hidden:
		return fmt.Errorf("%w: output %q has hidden dimension %d but %s says hidden_size %d",
			ErrONNXOutput, e.output, d, ONNXConfigFile, hidden)
	case d > 0:
		e.dim = d
	default:
		e.dim = hidden // 0 if unknown: found by a first run
	}
	return nil
}

func (e *ONNX) openSessions(modelPath string, n, threads int) error {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("encoder: ONNX Runtime session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(threads); err != nil {
		return fmt.Errorf("encoder: ONNX Runtime intra-op threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return fmt.Errorf("encoder: ONNX Runtime inter-op threads: %w", err)
	}
	e.pool = make(chan *onnxSession, n)
	for range n {
		s, err := ort.NewDynamicAdvancedSession(modelPath, e.inputNames, []string{e.output}, opts)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrONNXModelDir, modelPath, err)
		}
		ro, err := ort.NewRunOptions()
		if err != nil {
			s.Destroy()
			return fmt.Errorf("encoder: ONNX Runtime run options: %w", err)
		}
		sess := &onnxSession{s: s, opts: ro}
		e.sessions = append(e.sessions, sess)
		e.pool <- sess
	}
	return nil
}

// Dim is the hidden size of the model.
func (e *ONNX) Dim() int { return e.dim }

// Identity is Kind "onnx", Params pooling, max_length, dim, normalize and
// output, and the digest of the model directory's files.
func (e *ONNX) Identity() Identity { return e.id }

// MaxLength is the maximum number of tokens of a sequence, special tokens
// included.
func (e *ONNX) MaxLength() int { return e.tok.maxLen }

// Close releases the ONNX Runtime sessions, after waiting for the runs in
// progress. Encode fails with ErrONNXClosed afterwards. Close is idempotent.
// The ONNX Runtime environment itself stays (it is process-global).
func (e *ONNX) Close() error {
	e.closeOne.Do(func() {
		e.closed.Store(true)
		close(e.done)
		for range e.sessions {
			s := <-e.pool
			s.s.Destroy()
			s.opts.Destroy()
		}
	})
	return nil
}

// Encode embeds texts: one vector of Dim() float32 per text, in order.
func (e *ONNX) Encode(ctx context.Context, texts []string) ([][]float32, error) {
	if e.closed.Load() {
		return nil, ErrONNXClosed
	}
	out := make([][]float32, len(texts))
	nb := (len(texts) + e.batchSize - 1) / e.batchSize
	batch := func(ctx context.Context, b int) error {
		lo := b * e.batchSize
		hi := min(lo+e.batchSize, len(texts))
		return e.encodeBatch(ctx, texts[lo:hi], out[lo:hi])
	}
	if nb <= 1 || cap(e.pool) == 1 {
		for b := range nb {
			if err := batch(ctx, b); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// Several batches: as many workers as sessions, the first error cancels.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(nb, cap(e.pool)) {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= nb || ctx.Err() != nil {
					return
				}
				if err := batch(ctx, b); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// encodeBatch tokenises texts, runs them as one padded batch and writes the
// pooled vectors to out.
func (e *ONNX) encodeBatch(ctx context.Context, texts []string, out [][]float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	toks, err := e.tokenize(texts)
	if err != nil {
		return err
	}
	T := 0
	for _, t := range toks {
		T = max(T, len(t.ids))
	}
	B := len(texts)
	// Right padding with the tokenizer's pad id; the attention mask is 0 there.
	ids := make([]int64, B*T)
	mask := make([]int64, B*T)
	types := make([]int64, B*T)
	for i, t := range toks {
		if pad := int64(e.tok.padID); pad != 0 {
			for j := len(t.ids); j < T; j++ {
				ids[i*T+j] = pad
			}
		}
		for j, id := range t.ids {
			ids[i*T+j] = int64(id)
			mask[i*T+j] = 1
			types[i*T+j] = int64(t.types[j])
		}
	}

	var s *onnxSession
	select {
	case s = <-e.pool:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-e.done:
		return ErrONNXClosed
	}
	defer func() { e.pool <- s }()
	return e.run(ctx, s, B, T, [][]int64{ids, mask, types}, func(hidden []float32) {
		D := len(hidden) / (B * T) // e.dim, or unknown before the first run
		for i, t := range toks {
			out[i] = e.poolRow(hidden[i*T*D:(i+1)*T*D], len(t.ids), D)
		}
	})
}

// poolRow pools the [T, D] output of one sequence whose first n positions
// are tokens (attention mask 1) and the rest padding.
func (e *ONNX) poolRow(row []float32, n, D int) []float32 {
	v := make([]float32, D)
	if e.pooling == "cls" {
		copy(v, row[:D])
	} else {
		acc := make([]float64, D)
		for j := range n {
			for k, x := range row[j*D : (j+1)*D] {
				acc[k] += float64(x)
			}
		}
		for k := range v {
			v[k] = float32(acc[k] / float64(max(n, 1)))
		}
	}
	if e.normalize {
		onnxL2Normalize(v)
	}
	return v
}

// tokenize tokenises texts, on up to GOMAXPROCS goroutines (tokenisation
// costs more than running a small model).
func (e *ONNX) tokenize(texts []string) ([]onnxTokens, error) {
	toks := make([]onnxTokens, len(texts))
	workers := min(runtime.GOMAXPROCS(0), (len(texts)+3)/4)
	if workers <= 1 {
		for i, text := range texts {
			t, _, err := e.tok.encode(text)
			if err != nil {
				return nil, err
			}
			toks[i] = t
		}
		return toks, nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(texts); i += workers {
				t, _, err := e.tok.encode(texts[i])
				if err != nil {
					errs[w] = err
					return
				}
				toks[i] = t
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return toks, nil
}

// run runs session s on the [B, T] inputs (input_ids, attention_mask,
// token_type_ids) and calls use with the output, [B, T, dim] flattened,
// valid during the call. A context cancelled during the run terminates it.
func (e *ONNX) run(ctx context.Context, s *onnxSession, B, T int, inputs [][]int64, use func(hidden []float32)) error {
	shape := ort.NewShape(int64(B), int64(T))
	values := make([]ort.Value, len(e.inputNames))
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i := range e.inputNames {
		var err error
		if e.int32In {
			v32 := make([]int32, len(inputs[i]))
			for k, x := range inputs[i] {
				v32[k] = int32(x)
			}
			values[i], err = ort.NewTensor(shape, v32)
		} else {
			values[i], err = ort.NewTensor(shape, inputs[i])
		}
		if err != nil {
			return fmt.Errorf("encoder: ONNX input tensor: %w", err)
		}
	}
	outputs := []ort.Value{nil} // allocated by ONNX Runtime, shape checked below

	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.opts.Terminate()
		close(fired)
	})
	err := s.s.RunWithOptions(values, outputs, s.opts)
	if !stop() { // the context ended: the run may have been terminated
		<-fired
		s.opts.UnsetTerminate()
		if outputs[0] != nil {
			outputs[0].Destroy()
		}
		return context.Cause(ctx)
	}
	if err != nil {
		return fmt.Errorf("encoder: ONNX Runtime run (batch %d x %d tokens): %w", B, T, err)
	}
	defer outputs[0].Destroy()
	t, ok := outputs[0].(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("%w: output %q is not a float32 tensor", ErrONNXOutput, e.output)
	}
	got := t.GetShape()
	if len(got) != 3 || got[0] != int64(B) || got[1] != int64(T) || (e.dim > 0 && got[2] != int64(e.dim)) || got[2] <= 0 {
		want := "hidden"
		if e.dim > 0 {
			want = strconv.Itoa(e.dim)
		}
		return fmt.Errorf("%w: output %q has shape %v for a %d x %d batch, want [%d %d %s]",
			ErrONNXOutput, e.output, got, B, T, B, T, want)
	}
	use(t.GetData())
	return nil
}

func onnxL2Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := 1 / math.Sqrt(ss)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}

// ortState guards the process-global ONNX Runtime environment.
var ortState struct {
	mu   sync.Mutex
	path string // the library the environment was initialised from; "" before
}

// InitORT initialises the process-global ONNX Runtime environment from the
// shared library at libraryPath, once: later calls with the same library
// (same path or same file) do nothing, calls with another library fail with
// ErrORTConflict. A failed initialisation can be retried. NewONNX calls it;
// other users of onnxruntime_go in the process should call it too instead
// of initialising the environment themselves. The environment is never
// destroyed.
func InitORT(libraryPath string) error {
	if libraryPath == "" {
		var cfg ONNXConfig
		return onnxCheckConfig(&cfg)
	}
	abs, err := filepath.Abs(libraryPath)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrORTLibrary, err)
	}
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ortState.path != "" {
		if ortState.path == abs || onnxSameFile(ortState.path, abs) {
			return nil
		}
		return fmt.Errorf("%w: %w: it was initialised from %s, %s was asked for; use one library per process",
			ErrORTLibrary, ErrORTConflict, ortState.path, abs)
	}
	if ort.IsInitialized() { // initialised outside InitORT: accept it as is
		ortState.path = abs
		return nil
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return fmt.Errorf("%w: %s not found; run `make setup` (it downloads .cache/ort/libonnxruntime.so.1.30.0) "+
			"and pass that path (ROUTEKIT_ORT_LIB)", ErrORTLibrary, abs)
	}
	ort.SetSharedLibraryPath(abs)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("%w: loading %s: %v (is it a libonnxruntime.so >= 1.24 for this platform? `make setup` fetches one)",
			ErrORTLibrary, abs, err)
	}
	ortState.path = abs
	return nil
}

func onnxSameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
