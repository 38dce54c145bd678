package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/exceptions"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	gr "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	mlctx "github.com/gomlx/gomlx/pkg/ml/context"
	mltrain "github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/gomlx/onnx-gomlx/onnx"

	"github.com/routekit/routekit/internal/conf"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// FinetuneConfig holds the hyperparameters of FinetuneBERT. Zero values
// mean defaults (see DefaultFinetuneConfig).
type FinetuneConfig struct {
	// Head configures the head and the first phase, TrainBERT on the
	// frozen encoder's embeddings; its ValFraction, Seed and Patience
	// also govern the fine-tuning phase.
	Head BERTConfig `json:"head"`
	// Epochs is the maximum number of passes of the fine-tuning phase
	// (encoder and head together); 0 means 3.
	Epochs int `json:"epochs"`
	// LearningRate is Adam's step size in the fine-tuning phase; 0 means
	// 1e-4 (a pre-trained encoder wants small steps).
	LearningRate float64 `json:"learning_rate"`
	// BatchSize is the number of prompts per fine-tuning step; 0 means 16.
	BatchSize int `json:"batch_size"`
}

// DefaultFinetuneConfig returns the defaults: DefaultBERTConfig's head,
// Epochs 3, LearningRate 1e-4, BatchSize 16.
func DefaultFinetuneConfig() FinetuneConfig {
	return FinetuneConfig{Head: DefaultBERTConfig(), Epochs: 3, LearningRate: 1e-4, BatchSize: 16}
}

// Effective returns the configuration FinetuneBERT uses for c: c with its
// zero fields, and those of its Head (see BERTConfig.Effective), replaced
// by their defaults (see DefaultFinetuneConfig). routekit train records it
// in the manifest.
func (c FinetuneConfig) Effective() FinetuneConfig {
	d := DefaultFinetuneConfig()
	c.Head = c.Head.Effective()
	conf.Default(&c.Epochs, d.Epochs)
	conf.Default(&c.LearningRate, d.LearningRate)
	conf.Default(&c.BatchSize, d.BatchSize)
	return c
}

// Validate reports every invalid field of c, after zero fields take their
// defaults.
func (c FinetuneConfig) Validate() error {
	errs := []error{c.Head.Validate()}
	c = c.Effective()
	if c.Epochs < 1 || c.Epochs > 10_000 {
		errs = append(errs, fmt.Errorf("train: finetune: Epochs: %d, want 1 to 10000", c.Epochs))
	}
	if math.IsNaN(c.LearningRate) || c.LearningRate <= 0 || c.LearningRate > 1 {
		errs = append(errs, fmt.Errorf("train: finetune: LearningRate: %v, want in (0, 1]", c.LearningRate))
	}
	if c.BatchSize < 1 || c.BatchSize > 4096 {
		errs = append(errs, fmt.Errorf("train: finetune: BatchSize: %d, want 1 to 4096", c.BatchSize))
	}
	return errors.Join(errs...)
}

// FinetuneResult is what FinetuneBERT returns.
type FinetuneResult struct {
	// Head is the head of the best epoch, on the fine-tuned encoder.
	Head *models.MLP
	// Files is the fine-tuned encoder's model directory, by file name
	// (encoder.ONNXModelFile, ONNXTokenizerFile, ONNXRoutekitFile and,
	// when the original has one, ONNXConfigFile): the new model.onnx, the
	// original tokenizer and config, and a routekit.json stating the
	// pooling, max_length, output and normalisation the encoder ran with.
	Files map[string][]byte
	// HeadReport reports the first phase (the head on frozen
	// embeddings), Report the fine-tuning phase. Report.BestEpoch 0
	// means no fine-tuning epoch lowered the validation loss: Head and
	// Files are then the frozen encoder and its head.
	HeadReport, Report *Report
}

// FinetuneBERT trains the BERT-classifier router with its ONNX encoder
// fine-tuned: enc is the encoder opened from the model directory encDir
// (its tokenizer, pooling, normalisation and output are used as is),
// texts[i] is prompt i of pairs and points (see TrainBERT).
//
// The encoder's model.onnx is imported into GoMLX with onnx-gomlx. First
// the head is trained by TrainBERT on the frozen encoder's embeddings
// (computed by GoMLX); then encoder and head are trained together with
// Adam (cfg.LearningRate, no weight decay), for at most cfg.Epochs,
// keeping the epoch with the lowest validation loss (the same split by
// prompt as TrainBERT's) and stopping after Head.Patience epochs without
// improvement. The trained weights are written back into the ONNX model.
// hooks.OnEpoch sees both phases, the fine-tuning epochs numbered after
// the head's.
//
// Every batch is padded to the longest prompt of texts (one compiled
// graph). Fine-tuning runs forward and backward passes through the whole
// encoder on the GoMLX backend named by BackendEnv. On the pure-Go
// backend (2 shared cores, BenchmarkFinetuneStep) a step of 16 prompts of
// 32 tokens takes about 0.2 s for the 2-layer, 32-wide test BERT but
// about 70 s for a MiniLM-L6-sized encoder (6 layers, 384 wide; the
// encoder part, which dominates): an hour per epoch of 800 prompts. So it
// is practical there only for small encoders; a real one wants a GPU/XLA
// backend.
func FinetuneBERT(ctx context.Context, enc *encoder.ONNX, encDir string, texts []string, modelNames []string, pairs []Pair, points []Point, cfg FinetuneConfig, hooks Hooks) (*FinetuneResult, error) {
	start := time.Now()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.Effective()
	if enc == nil {
		return nil, errors.New("train: finetune: no encoder")
	}
	files, err := finetuneReadDir(enc, encDir)
	if err != nil {
		return nil, err
	}
	model, err := onnx.Parse(files[encoder.ONNXModelFile])
	if err != nil {
		return nil, fmt.Errorf("train: finetune: %s: %w", filepath.Join(encDir, encoder.ONNXModelFile), err)
	}
	ids, mask, types, err := enc.Tokenize(texts)
	if err != nil {
		return nil, fmt.Errorf("train: finetune: %w", err)
	}
	backend, err := bertBackend()
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()

	ft := &finetuner{enc: enc, model: model, ids: ids, mask: mask, types: types, batch: cfg.BatchSize}
	ft.ctx = mlctx.New()
	if e := exceptions.TryCatch[error](func() { err = model.VariablesToContext(ft.ctx) }); e != nil {
		err = e
	}
	if err != nil {
		return nil, fmt.Errorf("train: finetune: importing %s: %w", filepath.Join(encDir, encoder.ONNXModelFile), err)
	}
	if err := ft.newEmbedExec(backend); err != nil {
		return nil, err
	}
	defer ft.embedExec.Finalize()

	// Phase 1: the head on frozen embeddings.
	emb, err := ft.embed(ctx)
	if err != nil {
		return nil, err
	}
	head, headRep, err := TrainBERT(ctx, emb, modelNames, pairs, points, cfg.Head, hooks)
	if err != nil {
		return nil, err
	}
	res := &FinetuneResult{Head: head, Files: files, HeadReport: headRep}
	hc := cfg.Head
	bd, err := bertExamples(emb, modelNames, pairs, points, hc)
	if err != nil {
		return nil, err
	}
	trainSet, valSet := splitByPrompt(bd.examples, bertPrompt, hc.Seed, hc.ValFraction)

	// Phase 2: encoder and head together, starting from the head of phase 1.
	b := min(cfg.BatchSize, len(trainSet))
	trainer, lt, err := ft.newTrainer(backend, head, emb, bd, hc, b, cfg.LearningRate)
	if err != nil {
		return nil, err
	}

	rep := &Report{Train: len(trainSet), Val: len(valSet), ValLoss: headRep.ValLoss, ValAccuracy: headRep.ValAccuracy}
	// The tuned encoder must beat the frozen one's head.
	es := newEarlyStop(hc.Patience, len(valSet) > 0, headRep.ValLoss)
	r := rand.New(rand.NewPCG(hc.Seed, 0x66696e65))
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		r.Shuffle(len(trainSet), func(i, j int) { trainSet[i], trainSet[j] = trainSet[j], trainSet[i] })
		var sum, terms float64
		for lo := 0; lo < len(trainSet); lo += b {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			batch := trainSet[lo:min(lo+b, len(trainSet))]
			n := lt.fill(batch)
			l, err := ft.step(trainer, batch, lt)
			if err != nil {
				return nil, fmt.Errorf("train: finetune: epoch %d: %w", epoch, err)
			}
			sum, terms = sum+l*n, terms+n
		}
		st := EpochStats{Epoch: headRep.Epochs + epoch, TrainLoss: sum / math.Max(terms, 1), ValLoss: math.NaN(), ValAccuracy: math.NaN()}
		if err := diverged("finetune", epoch, st.TrainLoss); err != nil {
			return nil, err
		}
		m, err := lt.export(modelNames)
		if err != nil {
			return nil, fmt.Errorf("train: finetune: epoch %d: %w", epoch, err)
		}
		if len(valSet) > 0 {
			emb, err := ft.embed(ctx)
			if err != nil {
				return nil, err
			}
			st.ValLoss, st.ValAccuracy = bertEvaluate(m, emb, bd, valSet)
		}
		st.Elapsed = time.Since(start)
		rep.Epochs = epoch
		if hooks.OnEpoch != nil {
			hooks.OnEpoch(st)
		}
		isBest, stop := es.observe(st)
		if stop {
			break
		}
		if !isBest {
			continue
		}
		rep.keep(epoch, st)
		mb, err := ft.modelBytes()
		if err != nil {
			return nil, err
		}
		res.Head, res.Files[encoder.ONNXModelFile] = m, mb
	}
	rep.Duration = time.Since(start)
	res.Report = rep
	return res, nil
}

// newTrainer sets the head's variables to head's weights and returns the
// trainer of encoder and head together, batches of b prompts, with the
// loss and label buffers of TrainBERT (lt).
func (ft *finetuner) newTrainer(backend backends.Backend, head *models.MLP, emb [][]float32, bd *bertData, hc BERTConfig, b int, lr float64) (*mltrain.Trainer, *bertTrainer, error) {
	widths := []int{head.Layers[0].In}
	for _, l := range head.Layers {
		widths = append(widths, l.Out)
	}
	hctx := ft.ctx.In("head")
	for i, l := range head.Layers {
		lc := hctx.In(bertScope(i))
		lc.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(append([]float32(nil), l.W...), l.In, l.Out))
		lc.VariableWithValue("biases", tensors.FromFlatDataAndDimensions(append([]float32(nil), l.B...), l.Out))
	}
	ft.batch = b
	lt := &bertTrainer{emb: emb, bd: bd, cfg: hc, widths: widths, batch: b, ctx: hctx}
	o := bd.outs
	lt.x, lt.t, lt.m, lt.s = make([]float32, b*bd.d), make([]float32, b*o), make([]float32, b*o), make([]float32, b*o)
	lt.y, lt.p = make([]float32, b), make([]float32, b)
	if hc.Dropout > 0 {
		_ = ft.ctx.SetRNGStateFromSeed(int64(hc.Seed))
	}
	modelFn := func(c *mlctx.Context, _ any, in []*gr.Node) []*gr.Node {
		pooled := ft.encodeGraph(c, in[0], in[1], in[2])
		return []*gr.Node{bertForward(c.In("head"), pooled, len(widths)-1, hc.Dropout)}
	}
	var trainer *mltrain.Trainer
	if e := exceptions.TryCatch[error](func() {
		trainer = mltrain.NewTrainer(backend, ft.ctx, modelFn, lt.loss, optimizers.Adam().LearningRate(lr).Done(), nil, nil)
	}); e != nil {
		return nil, nil, fmt.Errorf("train: finetune: %w", e)
	}
	return trainer, lt, nil
}

// bertBackend opens the GoMLX backend named by BackendEnv.
func bertBackend() (backends.Backend, error) {
	cfg := os.Getenv(BackendEnv)
	if cfg == "" {
		cfg = DefaultBackend
	}
	var backend backends.Backend
	var err error
	if e := exceptions.TryCatch[error](func() { backend, err = backends.NewWithConfig(cfg) }); e != nil {
		err = e
	}
	if err != nil {
		return nil, fmt.Errorf("train: GoMLX backend %q (from %s): %w", cfg, BackendEnv, err)
	}
	return backend, nil
}

// finetuneReadDir reads the model directory's files and replaces its
// routekit.json by one of enc's settings.
func finetuneReadDir(enc *encoder.ONNX, dir string) (map[string][]byte, error) {
	files, err := encoder.ReadONNXDir(dir)
	if err != nil {
		return nil, fmt.Errorf("train: finetune: %w", err)
	}
	rk, err := json.MarshalIndent(map[string]any{
		"pooling": enc.Pooling(), "max_length": enc.MaxLength(), "output": enc.Output(), "normalize": enc.Normalize(),
	}, "", " ")
	if err != nil {
		return nil, err
	}
	files[encoder.ONNXRoutekitFile] = append(rk, '\n')
	return files, nil
}

// finetuner holds the GoMLX state of a fine-tuning run.
type finetuner struct {
	enc              *encoder.ONNX
	model            *onnx.Model
	ctx              *mlctx.Context
	ids, mask, types [][]int64 // tokenised prompts, padded to one length
	batch            int
	embedExec        *mlctx.Exec
}

// encodeGraph is the encoder's forward pass as the ONNX encoder runs it:
// the model's output pooled (mean over the attention mask, or the first
// vector) and L2-normalised when the encoder normalises.
func (ft *finetuner) encodeGraph(c *mlctx.Context, ids, mask, types *gr.Node) *gr.Node {
	in := map[string]*gr.Node{}
	for _, name := range ft.enc.InputNames() {
		switch name {
		case "input_ids":
			in[name] = ids
		case "attention_mask":
			in[name] = mask
		case "token_type_ids":
			in[name] = types
		}
	}
	hidden := ft.model.CallGraph(c, ids.Graph(), in, ft.enc.Output())[0] // [B, T, D]
	var pooled *gr.Node
	if ft.enc.Pooling() == "cls" {
		pooled = gr.Squeeze(gr.Slice(hidden, gr.AxisRange(), gr.AxisElem(0)), 1)
	} else {
		m := gr.ConvertDType(mask, dtypes.Float32) // [B, T]
		s := gr.ReduceSum(gr.Mul(hidden, gr.InsertAxes(m, -1)), 1)
		pooled = gr.Div(s, gr.InsertAxes(gr.MaxScalar(gr.ReduceSum(m, 1), 1), -1))
	}
	if ft.enc.Normalize() {
		// x / sqrt(|x|² + ε): the ε keeps the gradient finite at 0 and is
		// far below float32 precision for a real embedding.
		pooled = gr.Div(pooled, gr.InsertAxes(gr.Sqrt(gr.AddScalar(gr.ReduceSum(gr.Mul(pooled, pooled), -1), 1e-24)), -1))
	}
	return pooled
}

// inputs returns the [batch, T] input tensors of the prompts of batch,
// padded with copies of the first prompt (whose rows carry no loss).
func (ft *finetuner) inputs(prompts []int) []*tensors.Tensor {
	T := len(ft.ids[0])
	out := make([]*tensors.Tensor, 3)
	for k, src := range [][][]int64{ft.ids, ft.mask, ft.types} {
		flat := make([]int64, ft.batch*T)
		for i := range ft.batch {
			p := prompts[0]
			if i < len(prompts) {
				p = prompts[i]
			}
			copy(flat[i*T:(i+1)*T], src[p])
		}
		if ft.enc.Int32Inputs() {
			f32 := make([]int32, len(flat))
			for i, v := range flat {
				f32[i] = int32(v)
			}
			out[k] = tensors.FromFlatDataAndDimensions(f32, ft.batch, T)
		} else {
			out[k] = tensors.FromFlatDataAndDimensions(flat, ft.batch, T)
		}
	}
	return out
}

func (ft *finetuner) newEmbedExec(backend backends.Backend) error {
	var err error
	if e := exceptions.TryCatch[error](func() {
		ft.embedExec, err = mlctx.NewExec(backend, ft.ctx.Reuse(), func(c *mlctx.Context, ids, mask, types *gr.Node) *gr.Node {
			return ft.encodeGraph(c, ids, mask, types)
		})
	}); e != nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("train: finetune: %w", err)
	}
	return nil
}

// embed returns the current encoder's embeddings of every prompt.
func (ft *finetuner) embed(ctx context.Context) ([][]float32, error) {
	n := len(ft.ids)
	out := make([][]float32, n)
	prompts := make([]int, 0, ft.batch)
	for lo := 0; lo < n; lo += ft.batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prompts = prompts[:0]
		for p := lo; p < min(lo+ft.batch, n); p++ {
			prompts = append(prompts, p)
		}
		in := ft.inputs(prompts)
		var res []*tensors.Tensor
		var err error
		if e := exceptions.TryCatch[error](func() { res, err = ft.embedExec.Exec(in[0], in[1], in[2]) }); e != nil {
			err = e
		}
		for _, t := range in {
			t.FinalizeAll()
		}
		if err != nil {
			return nil, fmt.Errorf("train: finetune: encoder forward pass: %w", err)
		}
		flat, err := tensors.CopyFlatData[float32](res[0])
		res[0].FinalizeAll()
		if err != nil {
			return nil, fmt.Errorf("train: finetune: reading embeddings: %w", err)
		}
		d := len(flat) / ft.batch
		for i, p := range prompts {
			out[p] = flat[i*d : (i+1)*d : (i+1)*d]
		}
	}
	return out, nil
}

// step runs one Adam step on a batch whose labels lt holds (lt.fill) and
// returns its mean loss.
func (ft *finetuner) step(trainer *mltrain.Trainer, batch []bertExample, lt *bertTrainer) (float64, error) {
	prompts := make([]int, len(batch))
	for i, ex := range batch {
		prompts[i] = int(ex.prompt)
	}
	inputs := ft.inputs(prompts)
	b, o := ft.batch, lt.bd.outs
	labels := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(lt.t, b, o), tensors.FromFlatDataAndDimensions(lt.m, b, o),
		tensors.FromFlatDataAndDimensions(lt.s, b, o), tensors.FromFlatDataAndDimensions(lt.y, b),
		tensors.FromFlatDataAndDimensions(lt.p, b),
	}
	var metrics []*tensors.Tensor
	var err error
	if e := exceptions.TryCatch[error](func() { metrics, err = trainer.TrainStep(nil, inputs, labels) }); e != nil {
		err = e
	}
	for _, t := range append(inputs, labels...) {
		t.FinalizeAll()
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, t := range metrics {
			t.FinalizeAll()
		}
	}()
	v, err := tensors.CopyFlatData[float32](metrics[0])
	if err != nil || len(v) != 1 {
		return 0, fmt.Errorf("reading the batch loss: %v", err)
	}
	return float64(v[0]), nil
}

// modelBytes writes the current encoder weights into the ONNX model and
// returns its serialisation.
func (ft *finetuner) modelBytes() ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if e := exceptions.TryCatch[error](func() {
		if err = ft.model.ContextToONNX(ft.ctx); err == nil {
			err = ft.model.Write(&buf)
		}
	}); e != nil {
		err = e
	}
	if err != nil {
		return nil, fmt.Errorf("train: finetune: writing the ONNX model: %w", err)
	}
	return buf.Bytes(), nil
}
