// Package artifact reads and writes router artifacts: a directory holding
// manifest.json and the blobs it lists, each with its SHA-256.
//
// # Format (version 1)
//
//	DIR/manifest.json   the Manifest, JSON
//	DIR/<blob name>     weight files: the scorer ("scorer.bin"), the
//	                    fitted built-in encoder ("encoder.bin"), an ONNX
//	                    encoder's files ("encoder-model.onnx", ...; see
//	                    AddEncoderFiles), ...
//
// Write builds the directory beside its destination as DIR.tmp-*, syncs
// every file, renames it into place and syncs the parent, so a crash never
// leaves a half artifact at DIR. Read checks the format version (a newer
// one than this binary knows is refused, not guessed), every blob's size
// and SHA-256, and refuses a blob the manifest does not list.
//
// An artifact is self-contained: its ONNX encoder, frozen or fine-tuned,
// is stored in it too (manifest encoder_files, see AddEncoderDir and
// AddEncoderFiles), so a registry can be copied to another machine. The
// one exception is opt-in: train --encoder-ref records only the absolute
// path of a frozen encoder's model directory (encoder_path), saving a
// copy per version (about 90 MB for a MiniLM-sized encoder) for very
// large encoders shared by many versions, at the price that the artifact
// loads only where that directory exists with the same files (else
// ErrEncoderMissing or ErrEncoderMismatch).
//
// Artifacts are immutable once written; a Manifest and blobs read from
// one are safe for concurrent reads.
//
// # Registry
//
// A Registry keeps numbered versions of named routers, ROOT/NAME/vK, with
// a CURRENT pointer replaced atomically and a HISTORY of promotions for
// rollback; see Registry for the layout and its guarantees.
package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/encoder"
)

// FormatVersion is the artifact format this binary writes and reads.
const FormatVersion = 1

// ManifestFile is the manifest's name inside an artifact directory.
const ManifestFile = "manifest.json"

// Errors callers branch on.
var (
	// ErrFormat means the artifact's format version is not one this
	// binary reads.
	ErrFormat = errors.New("unsupported artifact format")
	// ErrCorrupt means a blob is missing or its size or digest differs
	// from the manifest's.
	ErrCorrupt = errors.New("corrupt artifact")
)

// Model is one candidate model with its expected cost per query.
type Model struct {
	Name string `json:"name"`
	// Cost is the expected USD per query used by cost policies.
	Cost float64 `json:"cost"`
}

// Blob is one file of an artifact.
type Blob struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// DataFingerprint identifies the training data.
type DataFingerprint struct {
	Files   []string `json:"files"`
	Rows    int      `json:"rows"`
	Prompts int      `json:"prompts"`
	// SHA256 is over the canonical records in read order.
	SHA256 string `json:"sha256"`
}

// Manifest describes an artifact.
type Manifest struct {
	FormatVersion int              `json:"format_version"`
	Router        string           `json:"router"` // mf, irt, knn, ...
	Created       time.Time        `json:"created"`
	Models        []Model          `json:"models"`
	Encoder       encoder.Identity `json:"encoder"`
	// EncoderBlob names the blob holding a fitted built-in encoder;
	// empty for an ONNX encoder (EncoderFiles or EncoderPath).
	EncoderBlob string `json:"encoder_blob,omitempty"`
	// EncoderPath is the absolute path of an ONNX encoder's model
	// directory that the artifact references instead of holding it
	// (train --encoder-ref): the artifact is then not self-contained.
	EncoderPath string `json:"encoder_path,omitempty"`
	// EncoderFiles holds an ONNX encoder inside the artifact (frozen, the
	// default, or fine-tuned with the router): it maps each file of the
	// model directory (model.onnx, tokenizer.json, optionally config.json
	// and routekit.json) to the blob holding it; see AddEncoderDir and
	// AddEncoderFiles.
	EncoderFiles    map[string]string  `json:"encoder_files,omitempty"`
	ScorerBlob      string             `json:"scorer_blob"`
	Data            DataFingerprint    `json:"data"`
	Seed            uint64             `json:"seed"`
	Hyperparameters map[string]any     `json:"hyperparameters,omitempty"`
	Validation      map[string]float64 `json:"validation,omitempty"`
	Policy          models.Policy      `json:"policy"`
	// Drift holds reference statistics of the training prompts for drift
	// checks; opaque here.
	Drift json.RawMessage `json:"drift,omitempty"`
	Blobs []Blob          `json:"blobs"`
}

var blobName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Write writes an artifact to dir, which must not exist. Blob names are
// lower-case file names; the manifest's Blobs and FormatVersion are
// filled in here.
func Write(dir string, m Manifest, blobs map[string][]byte) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("artifact %s: already exists", dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		os.RemoveAll(tmp)
		return fmt.Errorf("writing artifact %s: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return fail(err)
	}
	m.FormatVersion = FormatVersion
	m.Blobs = m.Blobs[:0]
	names := make([]string, 0, len(blobs))
	for n := range blobs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !blobName.MatchString(n) || n == ManifestFile {
			return fail(fmt.Errorf("bad blob name %q", n))
		}
		b := blobs[n]
		sum := sha256.Sum256(b)
		m.Blobs = append(m.Blobs, Blob{Name: n, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		if err := writeSynced(filepath.Join(tmp, n), b); err != nil {
			return fail(err)
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := writeSynced(filepath.Join(tmp, ManifestFile), append(mb, '\n')); err != nil {
		return fail(err)
	}
	if err := syncDir(tmp); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fail(err)
	}
	return syncDir(parent)
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Read reads and verifies an artifact, returning its manifest and blobs.
func Read(dir string) (*Manifest, map[string][]byte, error) {
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	var probe struct {
		FormatVersion int `json:"format_version"`
	}
	if err := json.Unmarshal(mb, &probe); err != nil {
		return nil, nil, fmt.Errorf("artifact %s: manifest.json: %v: %w", dir, err, ErrCorrupt)
	}
	if probe.FormatVersion != FormatVersion {
		return nil, nil, fmt.Errorf("artifact %s: format version %d, this binary reads %d: %w", dir, probe.FormatVersion, FormatVersion, ErrFormat)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, nil, fmt.Errorf("artifact %s: manifest.json: %v: %w", dir, err, ErrCorrupt)
	}
	blobs := make(map[string][]byte, len(m.Blobs))
	for _, bl := range m.Blobs {
		if !blobName.MatchString(bl.Name) {
			return nil, nil, fmt.Errorf("artifact %s: bad blob name %q: %w", dir, bl.Name, ErrCorrupt)
		}
		b, err := os.ReadFile(filepath.Join(dir, bl.Name))
		if err != nil {
			return nil, nil, fmt.Errorf("artifact %s: blob %s: %v: %w", dir, bl.Name, err, ErrCorrupt)
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != bl.Size || hex.EncodeToString(sum[:]) != bl.SHA256 {
			return nil, nil, fmt.Errorf("artifact %s: blob %s: size or sha256 differs from the manifest: %w", dir, bl.Name, ErrCorrupt)
		}
		blobs[bl.Name] = b
	}
	for _, n := range []string{m.ScorerBlob, m.EncoderBlob} {
		if _, ok := blobs[n]; n != "" && !ok {
			return nil, nil, fmt.Errorf("artifact %s: the manifest names blob %s but does not list it: %w", dir, n, ErrCorrupt)
		}
	}
	if err := checkEncoderFiles(m.EncoderFiles, blobs); err != nil {
		return nil, nil, fmt.Errorf("artifact %s: %w", dir, err)
	}
	return &m, blobs, nil
}
