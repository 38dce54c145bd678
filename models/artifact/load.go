package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// ErrEncoderMismatch means the encoder available differs from the one an
// artifact was trained with.
var ErrEncoderMismatch = errors.New("encoder differs from the artifact's")

// ErrEncoderMissing means an artifact references its ONNX encoder's model
// directory (manifest field encoder_path, written by train --encoder-ref)
// instead of holding it, and that directory or one of its required files
// is gone.
var ErrEncoderMissing = errors.New("the artifact's ONNX encoder directory is missing")

// Scorer decodes an artifact's scorer by its router kind.
func Scorer(m *Manifest, blobs map[string][]byte) (models.Scorer, error) {
	b, ok := blobs[m.ScorerBlob]
	if !ok {
		return nil, fmt.Errorf("scorer blob %q: %w", m.ScorerBlob, ErrCorrupt)
	}
	var s models.Scorer
	var err error
	switch m.Router {
	case "knn":
		s, err = models.UnmarshalKNN(b)
	case "mf":
		var mf models.MF
		if err = mf.UnmarshalBinary(b); err == nil {
			s = &mf
		}
	case "irt":
		s, err = models.UnmarshalIRT(b)
	case "bert":
		s, err = models.UnmarshalMLP(b)
	default:
		return nil, fmt.Errorf("router kind %q: %w", m.Router, ErrFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("scorer: %w", err)
	}
	got := s.Models()
	if len(got) != len(m.Models) {
		return nil, fmt.Errorf("scorer has %d models, the manifest %d: %w", len(got), len(m.Models), ErrCorrupt)
	}
	for i, mm := range m.Models {
		if got[i] != mm.Name {
			return nil, fmt.Errorf("scorer model %d is %q, the manifest's %q: %w", i, got[i], mm.Name, ErrCorrupt)
		}
	}
	return s, nil
}

// Encoder returns an artifact's encoder: the fitted built-in encoder it
// holds, the ONNX encoder it holds (EncoderFiles), or the ONNX model
// directory it references (EncoderPath), opened with cfg. The encoder's
// identity must equal the manifest's (else ErrEncoderMismatch); a
// referenced directory that is gone gives ErrEncoderMissing. An ONNX
// encoder's token budget is the manifest's (identity parameter
// max_length, which train --max-length may have set) unless
// cfg.MaxLength overrides it.
func Encoder(ctx context.Context, m *Manifest, blobs map[string][]byte, cfg encoder.ONNXConfig) (encoder.Encoder, error) {
	if n, err := strconv.Atoi(m.Encoder.Params["max_length"]); err == nil && n > 0 && m.Encoder.Kind == "onnx" && cfg.MaxLength == 0 {
		cfg.MaxLength = n
	}
	var enc encoder.Encoder
	switch {
	case m.EncoderBlob != "":
		b, err := encoder.ReadBuiltin(bytes.NewReader(blobs[m.EncoderBlob]))
		if err != nil {
			return nil, fmt.Errorf("encoder blob: %w", err)
		}
		enc = b
	case len(m.EncoderFiles) > 0:
		o, err := openEncoderFiles(ctx, m.EncoderFiles, blobs, cfg)
		if err != nil {
			return nil, err
		}
		enc = o
	case m.Encoder.Kind == "onnx" && m.EncoderPath != "":
		o, err := openEncoderPath(ctx, m.EncoderPath, cfg)
		if err != nil {
			return nil, err
		}
		enc = o
	default:
		return nil, fmt.Errorf("the manifest names no encoder (kind %q): %w", m.Encoder.Kind, ErrCorrupt)
	}
	if !enc.Identity().Equal(m.Encoder) {
		encoder.Close(enc)
		if m.EncoderBlob == "" && len(m.EncoderFiles) == 0 {
			return nil, fmt.Errorf("manifest field encoder_path: %s: %w: the directory now holds %s, the artifact was trained with %s; "+
				"restore the files it was trained with, or re-train without --encoder-ref to store the encoder in the artifact",
				m.EncoderPath, ErrEncoderMismatch, enc.Identity(), m.Encoder)
		}
		return nil, fmt.Errorf("%w: have %s, the artifact was trained with %s", ErrEncoderMismatch, enc.Identity(), m.Encoder)
	}
	return enc, nil
}

// openEncoderPath opens the ONNX model directory an artifact references
// (manifest field encoder_path). A directory that is gone, or lacks a
// required file, is ErrEncoderMissing with what to do about it.
func openEncoderPath(ctx context.Context, dir string, cfg encoder.ONNXConfig) (*encoder.ONNX, error) {
	if err := checkEncoderPath(dir); err != nil {
		return nil, err
	}
	o, err := encoder.NewONNX(ctx, dir, cfg)
	if err != nil {
		return nil, fmt.Errorf("manifest field encoder_path: %s: %w", dir, err)
	}
	return o, nil
}

// checkEncoderPath checks that the ONNX model directory an artifact
// references (manifest field encoder_path; "" when it references none)
// still has the files an encoder needs: ErrEncoderMissing, with what to
// do about it, when it does not. Whether the files are the ones the
// artifact was trained with only opening the encoder tells (Encoder).
func checkEncoderPath(dir string) error {
	if dir == "" {
		return nil
	}
	for _, p := range []string{dir, filepath.Join(dir, encoder.ONNXModelFile), filepath.Join(dir, encoder.ONNXTokenizerFile)} {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("manifest field encoder_path: %s: %w (%s does not exist): the artifact references its ONNX encoder "+
				"instead of holding it (train --encoder-ref); restore the model directory at that path, or re-train without "+
				"--encoder-ref to store the encoder in the artifact", dir, ErrEncoderMissing, p)
		}
	}
	return nil
}

// encoderFilePrefix starts the names of the blobs of an ONNX encoder
// stored in an artifact.
const encoderFilePrefix = "encoder-"

// AddEncoderFiles stores the files of an ONNX encoder's model directory
// (by file name: model.onnx, tokenizer.json, optionally config.json and
// routekit.json) in an artifact: it adds them to blobs as
// "encoder-<name>" and sets m.EncoderFiles, so that Load opens the
// encoder from the artifact itself. m.Encoder must be the identity of
// the encoder opened from exactly these files.
func AddEncoderFiles(m *Manifest, blobs map[string][]byte, files map[string][]byte) error {
	m.EncoderFiles = map[string]string{}
	for name, b := range files {
		blobs[encoderFilePrefix+name] = b
		m.EncoderFiles[name] = encoderFilePrefix + name
	}
	m.EncoderPath = ""
	return checkEncoderFiles(m.EncoderFiles, blobs)
}

// AddEncoderDir stores a frozen ONNX encoder's model directory in an
// artifact, exactly as AddEncoderFiles stores a fine-tuned one, so that
// the artifact no longer depends on dir. It reads the files
// encoder.NewONNXFromFiles needs (encoder.ReadONNXDir: model.onnx,
// tokenizer.json, and config.json and routekit.json when present), opens
// the encoder from them with cfg as Load will, and checks that its
// identity is m.Encoder, the identity of the encoder the router was
// trained with: files that changed since are refused with
// ErrEncoderMismatch, and a model the files alone cannot run (e.g. one
// whose weights are in external data files) with the encoder's error.
func AddEncoderDir(ctx context.Context, m *Manifest, blobs map[string][]byte, dir string, cfg encoder.ONNXConfig) error {
	files, err := encoder.ReadONNXDir(dir)
	if err != nil {
		return err
	}
	cfg.Sessions = 1 // opened for its identity only
	o, err := encoder.NewONNXFromFiles(ctx, files, cfg)
	if err != nil {
		return fmt.Errorf("opening the encoder from the files of %s: %w", dir, err)
	}
	id := o.Identity()
	o.Close()
	if !id.Equal(m.Encoder) {
		return fmt.Errorf("%w: the files of %s give %s, the router was trained with %s", ErrEncoderMismatch, dir, id, m.Encoder)
	}
	return AddEncoderFiles(m, blobs, files)
}

// checkEncoderFiles checks that an ONNX encoder stored in an artifact
// has the required files, only known ones, and that its blobs exist.
func checkEncoderFiles(files map[string]string, blobs map[string][]byte) error {
	if len(files) == 0 {
		return nil
	}
	for name, blob := range files {
		switch name {
		case encoder.ONNXModelFile, encoder.ONNXTokenizerFile, encoder.ONNXConfigFile, encoder.ONNXRoutekitFile:
		default:
			return fmt.Errorf("encoder_files: unknown model directory file %q: %w", name, ErrCorrupt)
		}
		if _, ok := blobs[blob]; !ok {
			return fmt.Errorf("encoder_files: %s: the manifest does not list blob %q: %w", name, blob, ErrCorrupt)
		}
	}
	for _, name := range []string{encoder.ONNXModelFile, encoder.ONNXTokenizerFile} {
		if _, ok := files[name]; !ok {
			return fmt.Errorf("encoder_files: no %s: %w", name, ErrCorrupt)
		}
	}
	return nil
}

// openEncoderFiles opens an ONNX encoder stored in an artifact: its
// verified blobs are written to a temporary model directory, removed once
// ONNX Runtime has loaded them.
func openEncoderFiles(ctx context.Context, files map[string]string, blobs map[string][]byte, cfg encoder.ONNXConfig) (*encoder.ONNX, error) {
	if err := checkEncoderFiles(files, blobs); err != nil {
		return nil, err
	}
	byName := make(map[string][]byte, len(files))
	for name, blob := range files {
		byName[name] = blobs[blob]
	}
	o, err := encoder.NewONNXFromFiles(ctx, byName, cfg)
	if err != nil {
		return nil, fmt.Errorf("the artifact's ONNX encoder (encoder_files): %w", err)
	}
	return o, nil
}

// Loaded is an artifact ready to route.
type Loaded struct {
	Dir      string
	Manifest *Manifest
	Router   *models.Router
	Encoder  encoder.Encoder
}

// Load reads, verifies and assembles an artifact.
func Load(ctx context.Context, dir string, cfg encoder.ONNXConfig) (*Loaded, error) {
	m, blobs, err := Read(dir)
	if err != nil {
		return nil, err
	}
	s, err := Scorer(m, blobs)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	enc, err := Encoder(ctx, m, blobs, cfg)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	costs := make([]float64, len(m.Models))
	for i, mm := range m.Models {
		costs[i] = mm.Cost
	}
	r, err := models.NewRouter(s, costs, m.Policy)
	if err != nil {
		encoder.Close(enc)
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	return &Loaded{Dir: dir, Manifest: m, Router: r, Encoder: enc}, nil
}

// Close releases the artifact's encoder (an ONNX encoder's sessions);
// l must not route afterwards.
func (l *Loaded) Close() error { return encoder.Close(l.Encoder) }

// Route embeds a prompt and routes it.
func (l *Loaded) Route(ctx context.Context, prompt string, req models.Request) (models.Decision, error) {
	v, err := l.Encoder.Encode(ctx, []string{prompt})
	if err != nil {
		return models.Decision{}, err
	}
	req.Embedding = v[0]
	return l.Router.Route(ctx, req)
}
