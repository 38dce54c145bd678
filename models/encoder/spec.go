package encoder

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrBadSpec means an encoder spec could not be parsed.
var ErrBadSpec = errors.New("bad encoder spec")

// Spec names an encoder on a command line:
//
//	builtin          fit the built-in encoder on the training prompts
//	builtin:PATH     load a fitted built-in encoder (SaveBuiltin's file)
//	onnx:DIR         an ONNX model directory (model.onnx, tokenizer.json)
type Spec struct {
	Kind string // "builtin" or "onnx"
	Path string // the file or directory; empty for a builtin to fit
}

// ParseSpec parses an encoder spec.
func ParseSpec(s string) (Spec, error) {
	kind, path, _ := strings.Cut(strings.TrimSpace(s), ":")
	switch kind {
	case "builtin":
		return Spec{Kind: kind, Path: path}, nil
	case "onnx":
		if path == "" {
			return Spec{}, fmt.Errorf("%w %q: onnx needs a model directory, as onnx:DIR", ErrBadSpec, s)
		}
		return Spec{Kind: kind, Path: path}, nil
	}
	return Spec{}, fmt.Errorf("%w %q: want builtin, builtin:FILE or onnx:DIR", ErrBadSpec, s)
}

func (s Spec) String() string {
	if s.Path == "" {
		return s.Kind
	}
	return s.Kind + ":" + s.Path
}

// NeedsFit reports whether the spec is a built-in encoder still to fit.
func (s Spec) NeedsFit() bool { return s.Kind == "builtin" && s.Path == "" }

// OpenConfig configures Open.
type OpenConfig struct {
	// Builtin configures fitting a built-in encoder.
	Builtin BuiltinConfig
	// ONNX configures an ONNX encoder; its LibraryPath is required for one.
	ONNX ONNXConfig
}

// Open returns the encoder of a spec. A built-in encoder to fit is fitted
// on prompts, which must then be given.
func Open(ctx context.Context, s Spec, cfg OpenConfig, prompts []string) (Encoder, error) {
	var enc Encoder
	var err error
	// Each branch assigns only on success: a typed nil pointer in an
	// Encoder would not be a nil Encoder.
	switch {
	case s.NeedsFit():
		if len(prompts) == 0 {
			return nil, errors.New("the built-in encoder is fitted on training prompts, and none were given")
		}
		var b *Builtin
		if b, err = FitBuiltin(ctx, prompts, cfg.Builtin); err == nil {
			enc = b
		}
	case s.Kind == "builtin":
		var b *Builtin
		if b, err = LoadBuiltin(s.Path); err == nil {
			enc = b
		}
	case s.Kind == "onnx":
		var o *ONNX
		if o, err = NewONNX(ctx, s.Path, cfg.ONNX); err == nil {
			enc = o
		}
	default:
		err = fmt.Errorf("%w: %q", ErrBadSpec, s.String())
	}
	if err != nil {
		return nil, err
	}
	return enc, nil
}
