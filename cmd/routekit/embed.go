package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/routekit/routekit/cmd/routekit/internal/progress"
	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/encoder"
)

// encoderFlags are the flags that choose and configure an encoder.
type encoderFlags struct {
	spec     string
	save     string
	builtin  encoder.BuiltinConfig
	onnx     encoder.ONNXConfig
	batch    int
	ortUsage string
}

func (f *encoderFlags) register(fs *flag.FlagSet) {
	d := encoder.DefaultBuiltinConfig()
	fs.StringVar(&f.spec, "encoder", "builtin", "encoder: builtin (fit on the data's prompts), builtin:FILE (a fitted one) or onnx:DIR")
	fs.StringVar(&f.save, "save-encoder", "", "where to save a built-in encoder fitted here (default: beside --out, as .encoder)")
	fs.IntVar(&f.builtin.Dim, "dim", d.Dim, "dimension of a built-in encoder fitted here")
	fs.Uint64Var(&f.builtin.Seed, "encoder-seed", d.Seed, "seed of a built-in encoder fitted here")
	fs.StringVar(&f.onnx.LibraryPath, "ort-lib", ortLibrary(), "ONNX Runtime library `file` for onnx encoders (default $ROUTEKIT_ORT_LIB, else "+defaultORTLib+")")
	fs.IntVar(&f.onnx.Sessions, "onnx-sessions", 0, "ONNX Runtime sessions in the pool (default: one per core)")
	fs.IntVar(&f.onnx.IntraOpThreads, "onnx-threads", 0, "intra-op threads per ONNX session (default 1)")
	fs.IntVar(&f.onnx.MaxLength, "max-length", 0, "ONNX encoder token budget, longer prompts keep head and tail (default: the model's)")
	fs.IntVar(&f.batch, "batch", 256, "prompts per encode call")
}

// open returns the encoder, fitting a built-in one on texts when asked
// and saving it to --save-encoder, else defaultSave (none when both are
// empty), with a progress note on stderr for slow steps.
func (f *encoderFlags) open(ctx context.Context, e *env, texts []string, defaultSave string) (encoder.Encoder, error) {
	spec, err := encoder.ParseSpec(f.spec)
	if err != nil {
		return nil, usagef("--encoder: %v", err)
	}
	start := time.Now()
	if spec.NeedsFit() && progress.IsTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "fitting the built-in encoder on %d prompts...\r", len(texts))
	}
	enc, err := encoder.Open(ctx, spec, encoder.OpenConfig{Builtin: f.builtin, ONNX: f.onnx}, texts)
	if err != nil {
		return nil, err
	}
	if spec.NeedsFit() {
		save := f.save
		if save == "" {
			save = defaultSave
		}
		if save != "" {
			if err := encoder.SaveBuiltin(save, enc.(*encoder.Builtin)); err != nil {
				return nil, err
			}
		}
		e.log.Info("fitted the built-in encoder", "prompts", len(texts), "dim", enc.Dim(), "seconds", time.Since(start).Seconds(), "saved", save)
	}
	return enc, nil
}

// sumRows totals the rows of cache encoders.
func sumRows(encs []encoder.EncoderRows) (rows, n int) {
	for _, r := range encs {
		rows += r.Rows
	}
	return rows, len(encs)
}

// logCacheUse logs how an embedding cache served a run (embed, train
// --cache): prompts reused and encoded, and the rows of other encoders
// kept in or dropped from the file.
func logCacheUse(e *env, path string, c *encoder.Cache, cov encoder.Coverage, encoded int) {
	otherRows, others := sumRows(c.Others())
	e.log.Info("embedding cache", "file", path, "reused", cov.Reused, "encoded", encoded,
		"text_changed", cov.Changed, "without_text_hash", cov.Unhashed,
		"other_encoder_rows_kept", otherRows, "other_encoders_kept", others)
	for _, d := range c.Dropped() {
		e.log.Info("embedding cache: dropped the rows of an old encoder", "file", path, "encoder", d.EncoderID,
			"rows", d.Rows, "max_encoders", encoder.MaxEncoders)
	}
}

func embedCommand() *command {
	return &command{
		name:  "embed",
		usage: "--data FILE... --encoder SPEC --out FILE.parquet",
		short: "embed the prompts of data files into an embedding cache",
		long: fmt.Sprintf(`Writes prompt_id, encoder_id, embedding (list<float32>) for every distinct
prompt of the data, with text_sha256 (SHA-256 of the exact prompt text). An
existing --out is reused: a prompt is encoded only when the file has no row
of this encoder with its id and text hash. Rows of other encoders are kept
(at most %d encoders per file, the least recently written dropped). A
built-in encoder fitted here is saved (--save-encoder) so that builtin:FILE
reproduces the same vectors.`, encoder.MaxEncoders),
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			fs.Var(&rf.in, "data", "data `file` (repeatable; same as --in)")
			var ef encoderFlags
			ef.register(fs)
			out := fs.String("out", "", "embedding cache `file` (.parquet)")
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, _, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				if *out == "" {
					return usagef("--out is required")
				}
				var ids, texts []string
				seen := map[string]bool{}
				add := func(id, text string) {
					if !seen[id] {
						seen[id] = true
						ids = append(ids, id)
						texts = append(texts, text)
					}
				}
				h := data.Handler{
					Outcome: func(o *data.Outcome) error { add(o.PromptID, o.Prompt); return nil },
					Battle:  func(b *data.Battle) error { add(b.PromptID, b.Prompt); return nil },
				}
				if _, err := readAll(ctx, e, opt, inputs, h); err != nil {
					return err
				}
				if len(ids) == 0 {
					return fmt.Errorf("no prompts in %s", strings.Join(inputs, ", "))
				}
				enc, err := ef.open(ctx, e, texts, strings.TrimSuffix(*out, ".parquet")+".encoder")
				if err != nil {
					return err
				}
				defer encoder.Close(enc)
				cache, err := encoder.LoadCache(ctx, *out, enc.Identity(), enc.Dim())
				if err != nil {
					return err
				}
				cov := cache.Check(ids, texts)
				bar := progress.New(e.stderr, "encoding", int64(cov.Encode()), "prompts")
				start := time.Now()
				_, n, err := encoder.Embed(ctx, enc, cache, ids, texts, encoder.EmbedConfig{
					Batch:    ef.batch,
					Progress: func(done, total int) { bar.Update(int64(done)) },
				})
				bar.Done()
				if err != nil {
					return err
				}
				secs := time.Since(start).Seconds()
				if err := cache.Save(*out); err != nil {
					return err
				}
				rate := ""
				if n > 0 && secs > 0 {
					rate = fmt.Sprintf(" (%.0f prompts/s)", float64(n)/secs)
				}
				e.log.Info("embedded", "out", *out, "prompts", len(ids), "seconds", secs)
				logCacheUse(e, *out, cache, cov, n)
				fmt.Fprintf(e.stdout, "encoder %s, dim %d\n", enc.Identity(), enc.Dim())
				fmt.Fprintf(e.stdout, "%d prompts: %d from the cache, %d encoded in %.1fs%s", len(ids), cov.Reused, n, secs, rate)
				if cov.Changed > 0 {
					fmt.Fprintf(e.stdout, "; %d re-encoded because their text differs from the cached one", cov.Changed)
				}
				if cov.Unhashed > 0 {
					fmt.Fprintf(e.stdout, "; %d re-encoded because the cache did not record their text", cov.Unhashed)
				}
				if rows, encs := sumRows(cache.Others()); encs > 0 {
					fmt.Fprintf(e.stdout, "\nkept %d rows of %d other encoder(s)", rows, encs)
				}
				if rows, encs := sumRows(cache.Dropped()); encs > 0 {
					fmt.Fprintf(e.stdout, "\ndropped %d rows of the %d oldest encoder(s): a cache file keeps at most %d encoders", rows, encs, encoder.MaxEncoders)
				}
				fmt.Fprintf(e.stdout, "\nwrote %d embeddings to %s\n", cache.Len(), *out)
				return nil
			}
		},
	}
}
