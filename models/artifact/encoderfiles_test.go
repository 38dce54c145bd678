package artifact_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// copyTinyBERT copies the tiny test BERT's model directory to a new
// temporary directory, which a test may change or delete.
func copyTinyBERT(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tinybert")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range tinyBERTFiles(t) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// referencing returns a mutation that makes an artifact reference the ONNX
// model directory dir with identity id (train --encoder-ref).
func referencing(dir string, id encoder.Identity) func(*artifact.Manifest, map[string][]byte) {
	return func(m *artifact.Manifest, b map[string][]byte) {
		m.EncoderBlob, m.Encoder, m.EncoderPath = "", id, dir
		delete(b, "encoder.bin")
	}
}

func TestEncoderPathMissing(t *testing.T) {
	// No ONNX Runtime needed: the directory is checked before it is opened.
	id := encoder.Identity{Kind: "onnx", Params: map[string]string{"pooling": "mean"}, Digest: "00"}
	gone := filepath.Join(t.TempDir(), "minilm")
	empty := t.TempDir()
	for _, c := range []struct {
		dir, missing string
	}{
		{gone, gone},
		{empty, filepath.Join(empty, encoder.ONNXModelFile)},
	} {
		_, err := artifact.Load(context.Background(), artifacttest.KNN(t, referencing(c.dir, id)), encoder.ONNXConfig{LibraryPath: "unused"})
		if !errors.Is(err, artifact.ErrEncoderMissing) {
			t.Fatalf("encoder_path %s: err = %v, want ErrEncoderMissing", c.dir, err)
		}
		for _, want := range []string{"encoder_path", c.dir, c.missing, "restore", "without --encoder-ref"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("encoder_path %s: error %q does not say %q", c.dir, err, want)
			}
		}
	}
}

func TestAddEncoderDir(t *testing.T) {
	lib := os.Getenv("ROUTEKIT_ORT_LIB")
	if lib == "" {
		t.Skip("ROUTEKIT_ORT_LIB is not set (make test sets it): skipping the ONNX encoder artifact test")
	}
	ctx := context.Background()
	cfg := encoder.ONNXConfig{LibraryPath: lib, Sessions: 1}
	dir := copyTinyBERT(t)
	ref, err := encoder.NewONNX(ctx, dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()

	// The encoder opened from the directory's files, as an artifact
	// holding them opens it, has the directory's identity.
	files, err := encoder.ReadONNXDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Errorf("ReadONNXDir read %d files, want model.onnx, tokenizer.json, config.json, routekit.json", len(files))
	}
	fromFiles, err := encoder.NewONNXFromFiles(ctx, files, cfg)
	if err != nil {
		t.Fatal(err)
	}
	fromFiles.Close()
	if !fromFiles.Identity().Equal(ref.Identity()) {
		t.Fatalf("identity from the files %s, from the directory %s", fromFiles.Identity(), ref.Identity())
	}

	art := artifacttest.KNN(t, func(m *artifact.Manifest, b map[string][]byte) {
		referencing("", ref.Identity())(m, b)
		if err := artifact.AddEncoderDir(ctx, m, b, dir, cfg); err != nil {
			t.Fatal(err)
		}
		if m.EncoderPath != "" || len(m.EncoderFiles) != 4 {
			t.Errorf("manifest: encoder_path %q, encoder_files %v", m.EncoderPath, m.EncoderFiles)
		}
	})
	// Gone from its directory, the encoder loads from the artifact and
	// embeds as before.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	l, err := artifact.Load(ctx, art, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Encoder.(*encoder.ONNX).Close()
	prompt := []string{"please write a python function"}
	want, err := ref.Encode(ctx, prompt)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.Encoder.Encode(ctx, prompt)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want[0] {
		if got[0][i] != want[0][i] {
			t.Fatalf("the stored encoder embeds differently: component %d %v vs %v", i, got[0][i], want[0][i])
		}
	}

	// A token budget set at training (train --max-length) is the
	// manifest's: the artifact loads without it being given again.
	short, err := encoder.NewONNX(ctx, copyTinyBERT(t), encoder.ONNXConfig{LibraryPath: lib, Sessions: 1, MaxLength: 16})
	if err != nil {
		t.Fatal(err)
	}
	short.Close()
	art = artifacttest.KNN(t, func(m *artifact.Manifest, b map[string][]byte) {
		referencing("", short.Identity())(m, b)
		if err := artifact.AddEncoderDir(ctx, m, b, copyTinyBERT(t), encoder.ONNXConfig{LibraryPath: lib, MaxLength: 16}); err != nil {
			t.Fatal(err)
		}
	})
	ls, err := artifact.Load(ctx, art, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := ls.Encoder.(*encoder.ONNX).MaxLength(); n != 16 {
		t.Errorf("loaded with max length %d, want the manifest's 16", n)
	}
	ls.Encoder.(*encoder.ONNX).Close()

	// Files that changed since training are refused, stored or referenced.
	other := copyTinyBERT(t)
	if err := os.WriteFile(filepath.Join(other, encoder.ONNXRoutekitFile), []byte(`{"pooling": "cls"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := artifact.AddEncoderDir(ctx, &artifact.Manifest{Encoder: ref.Identity()}, map[string][]byte{}, other, cfg); !errors.Is(err, artifact.ErrEncoderMismatch) {
		t.Errorf("AddEncoderDir of changed files: err = %v, want ErrEncoderMismatch", err)
	}
	_, err = artifact.Load(ctx, artifacttest.KNN(t, referencing(other, ref.Identity())), cfg)
	if !errors.Is(err, artifact.ErrEncoderMismatch) || !strings.Contains(err.Error(), "encoder_path") || !strings.Contains(err.Error(), other) {
		t.Errorf("encoder_path with changed files: err = %v, want ErrEncoderMismatch naming encoder_path and %s", err, other)
	}
	// A directory without its tokenizer is refused with the encoder's error.
	if err := os.Remove(filepath.Join(other, encoder.ONNXTokenizerFile)); err != nil {
		t.Fatal(err)
	}
	if err := artifact.AddEncoderDir(ctx, &artifact.Manifest{Encoder: ref.Identity()}, map[string][]byte{}, other, cfg); !errors.Is(err, encoder.ErrONNXModelDir) {
		t.Errorf("AddEncoderDir without tokenizer.json: err = %v, want ErrONNXModelDir", err)
	}
}
