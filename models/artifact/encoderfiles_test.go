package artifact_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/artifact/artifacttest"
	"github.com/routekit/routekit/models/encoder"
)

const tinyBERT = "../encoder/testdata/tinybert"

// tinyBERTFiles reads the tiny test BERT's model directory.
func tinyBERTFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, name := range []string{encoder.ONNXModelFile, encoder.ONNXTokenizerFile, encoder.ONNXConfigFile, encoder.ONNXRoutekitFile} {
		b, err := os.ReadFile(filepath.Join(tinyBERT, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

func TestEncoderFilesRefused(t *testing.T) {
	files := map[string][]byte{encoder.ONNXModelFile: []byte("onnx"), encoder.ONNXTokenizerFile: []byte("{}")}
	for _, c := range []struct {
		name   string
		mutate func(*artifact.Manifest, map[string][]byte)
	}{
		{"no tokenizer", func(m *artifact.Manifest, b map[string][]byte) {
			m.EncoderFiles = map[string]string{encoder.ONNXModelFile: "encoder-model.onnx"}
			b["encoder-model.onnx"] = files[encoder.ONNXModelFile]
		}},
		{"unknown file", func(m *artifact.Manifest, b map[string][]byte) {
			if err := artifact.AddEncoderFiles(m, b, files); err != nil {
				t.Fatal(err)
			}
			m.EncoderFiles["vocab.txt"] = "encoder-model.onnx"
		}},
		{"unlisted blob", func(m *artifact.Manifest, b map[string][]byte) {
			if err := artifact.AddEncoderFiles(m, b, files); err != nil {
				t.Fatal(err)
			}
			m.EncoderFiles[encoder.ONNXTokenizerFile] = "tokenizer.json"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := artifact.Read(artifacttest.KNN(t, c.mutate))
			if !errors.Is(err, artifact.ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	if err := artifact.AddEncoderFiles(&artifact.Manifest{}, map[string][]byte{}, map[string][]byte{encoder.ONNXModelFile: nil}); !errors.Is(err, artifact.ErrCorrupt) {
		t.Errorf("AddEncoderFiles without a tokenizer: err = %v, want ErrCorrupt", err)
	}
}

func TestLoadEncoderFiles(t *testing.T) {
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the ONNX encoder artifact test")
	}
	ctx := context.Background()
	cfg := encoder.ONNXConfig{LibraryPath: lib, Sessions: 1}
	ref, err := encoder.NewONNX(ctx, tinyBERT, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	files := tinyBERTFiles(t)
	store := func(m *artifact.Manifest, b map[string][]byte) {
		m.EncoderBlob, m.Encoder = "", ref.Identity()
		delete(b, "encoder.bin")
		if err := artifact.AddEncoderFiles(m, b, files); err != nil {
			t.Fatal(err)
		}
	}
	l, err := artifact.Load(ctx, artifacttest.KNN(t, store), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Encoder.(*encoder.ONNX).Close()
	want, err := ref.Encode(ctx, []string{"what is the capital of france"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Encoder.Encode(ctx, []string{"what is the capital of france"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want[0] {
		if got[0][i] != want[0][i] {
			t.Fatalf("the stored encoder embeds differently: component %d %v vs %v", i, got[0][i], want[0][i])
		}
	}
	// The stored files must be the manifest's encoder.
	_, err = artifact.Load(ctx, artifacttest.KNN(t, func(m *artifact.Manifest, b map[string][]byte) {
		store(m, b)
		b["encoder-routekit.json"] = []byte(`{"pooling": "cls"}`)
	}), cfg)
	if !errors.Is(err, artifact.ErrEncoderMismatch) {
		t.Errorf("other stored files: err = %v, want ErrEncoderMismatch", err)
	}
}
