package artifact

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// ErrEncoderMismatch means the encoder available differs from the one an
// artifact was trained with.
var ErrEncoderMismatch = errors.New("encoder differs from the artifact's")

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
// holds, or its ONNX model directory opened with cfg. The encoder's
// identity must equal the manifest's.
func Encoder(ctx context.Context, m *Manifest, blobs map[string][]byte, cfg encoder.ONNXConfig) (encoder.Encoder, error) {
	var enc encoder.Encoder
	switch {
	case m.EncoderBlob != "":
		b, err := encoder.ReadBuiltin(bytes.NewReader(blobs[m.EncoderBlob]))
		if err != nil {
			return nil, fmt.Errorf("encoder blob: %w", err)
		}
		enc = b
	case m.Encoder.Kind == "onnx" && m.EncoderPath != "":
		o, err := encoder.NewONNX(ctx, m.EncoderPath, cfg)
		if err != nil {
			return nil, err
		}
		enc = o
	default:
		return nil, fmt.Errorf("the manifest names no encoder (kind %q): %w", m.Encoder.Kind, ErrCorrupt)
	}
	if !enc.Identity().Equal(m.Encoder) {
		return nil, fmt.Errorf("%w: have %s, the artifact was trained with %s", ErrEncoderMismatch, enc.Identity(), m.Encoder)
	}
	return enc, nil
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
		return nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	return &Loaded{Dir: dir, Manifest: m, Router: r, Encoder: enc}, nil
}

// Route embeds a prompt and routes it.
func (l *Loaded) Route(ctx context.Context, prompt string, req models.Request) (models.Decision, error) {
	v, err := l.Encoder.Encode(ctx, []string{prompt})
	if err != nil {
		return models.Decision{}, err
	}
	req.Embedding = v[0]
	return l.Router.Route(ctx, req)
}
