package main

import (
	"flag"

	"github.com/routekit/routekit/models/encoder"
)

// onnxFlags are the ONNX Runtime flags of a command that opens an
// artifact's encoder (serve, route, irt add-model, eval, calibrate).
// They say how the encoder runs, never what it computes: the model
// directory, pooling and token budget come from the artifact, whose
// encoder identity must match, so they have no flags here.
type onnxFlags struct {
	cfg encoder.ONNXConfig
}

// Names of the flags registered by onnxFlags.register.
const (
	flagORTLib       = "ort-lib"
	flagONNXSessions = "onnx-sessions"
	flagONNXThreads  = "onnx-threads"
	flagONNXBatch    = "onnx-batch"
)

// register adds --ort-lib, --onnx-sessions, --onnx-threads and
// --onnx-batch to fs. Zero values mean the encoder package's defaults
// (one session per core, 1 intra-op thread, 32 texts per model run).
func (f *onnxFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cfg.LibraryPath, flagORTLib, ortLibrary(), "ONNX Runtime library `file` for artifacts with an ONNX encoder (default $ROUTEKIT_ORT_LIB, else "+defaultORTLib+")")
	fs.IntVar(&f.cfg.Sessions, flagONNXSessions, 0, "ONNX Runtime sessions in the pool of an ONNX encoder (default: one per core)")
	fs.IntVar(&f.cfg.IntraOpThreads, flagONNXThreads, 0, "intra-op threads per ONNX Runtime session (default 1)")
	fs.IntVar(&f.cfg.BatchSize, flagONNXBatch, 0, "texts per ONNX model run (default 32)")
}

// config returns the encoder options given by the flags, for
// artifact.Load and artifact.Encoder. Negative values are usage errors.
func (f *onnxFlags) config() (encoder.ONNXConfig, error) {
	for _, v := range []struct {
		name string
		n    int
	}{{flagONNXSessions, f.cfg.Sessions}, {flagONNXThreads, f.cfg.IntraOpThreads}, {flagONNXBatch, f.cfg.BatchSize}} {
		if v.n < 0 {
			return encoder.ONNXConfig{}, usagef("--%s: %d is negative (0 means the default)", v.name, v.n)
		}
	}
	return f.cfg, nil
}
