package data

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/klauspost/compress/zstd"
)

// Writer writes canonical records of one kind to one file. The file
// appears at its path only when Close succeeds (it is written beside it
// and renamed), so a failed write never leaves a partial file. A Writer
// is not safe for concurrent use.
type Writer struct {
	path, tmp string
	kind      Kind
	f         *os.File
	z         io.WriteCloser // the compressor of a .gz or .zst text file
	enc       recordEncoder
	n         int
	closed    bool
}

// recordEncoder is one container's encoding of records.
type recordEncoder interface {
	write(rec any) error
	close() error // flushes; does not close the file
}

// Create starts writing records of kind k to path in container c (zero:
// from the extension). Outcomes, battles and feedback can be written as
// Parquet, JSONL or CSV; decisions as JSONL. JSONL and CSV are compressed
// when the path ends in .gz or .zst.
func Create(path string, c Container, k Kind) (*Writer, error) {
	if c == "" {
		var err error
		if c, err = ContainerOf(path); err != nil {
			return nil, err
		}
	}
	if c == JSON {
		c = JSONL
	}
	if k == KindDecision && c != JSONL {
		return nil, fmt.Errorf("%s: decisions are written as JSONL only", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	f, err := createTemp(dir, "."+filepath.Base(path)+".tmp")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), kind: k, f: f}
	// Text named .gz or .zst is compressed, as the readers expect.
	var sink io.Writer = f
	if lower := strings.ToLower(path); c != Parquet {
		switch {
		case strings.HasSuffix(lower, ".gz"):
			w.z = gzip.NewWriter(f)
		case strings.HasSuffix(lower, ".zst"):
			var zw *zstd.Encoder
			if zw, err = zstd.NewWriter(f, zstd.WithEncoderConcurrency(1)); err == nil {
				w.z = zw
			}
		}
		if w.z != nil {
			sink = w.z
		}
	}
	switch {
	case err != nil:
	case c == Parquet:
		// Hide Close: pqarrow's FileWriter closes a sink that has one.
		w.enc, err = newParquetEncoder(struct{ io.Writer }{f}, k)
	case c == JSONL:
		w.enc = &jsonlEncoder{w: bufio.NewWriterSize(sink, 1<<20)}
	case c == CSV:
		w.enc, err = newCSVEncoder(sink, k)
	default:
		err = fmt.Errorf("unknown format %q", c)
	}
	if err != nil {
		if w.z != nil {
			w.z.Close()
		}
		f.Close()
		os.Remove(w.tmp)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}

// Kind returns the kind of record the writer takes.
func (w *Writer) Kind() Kind { return w.kind }

// Count returns the number of records written.
func (w *Writer) Count() int { return w.n }

func (w *Writer) put(k Kind, rec any) error {
	if w.closed {
		return errors.New("write after Close")
	}
	if k != w.kind {
		return fmt.Errorf("%s: %w: writing %s to a file of %s", w.path, ErrUnexpectedKind, k, w.kind)
	}
	if err := w.enc.write(rec); err != nil {
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	w.n++
	return nil
}

// WriteOutcome writes one outcome.
func (w *Writer) WriteOutcome(o *Outcome) error { return w.put(KindOutcome, o) }

// WriteBattle writes one battle.
func (w *Writer) WriteBattle(b *Battle) error { return w.put(KindBattle, b) }

// WriteFeedback writes one feedback row.
func (w *Writer) WriteFeedback(f *Feedback) error { return w.put(KindFeedback, f) }

// WriteDecision writes one decision.
func (w *Writer) WriteDecision(d *Decision) error { return w.put(KindDecision, d) }

// Handler returns a Handler that writes the writer's kind of record.
func (w *Writer) Handler() Handler {
	var h Handler
	switch w.kind {
	case KindOutcome:
		h.Outcome = w.WriteOutcome
	case KindBattle:
		h.Battle = w.WriteBattle
	case KindFeedback:
		h.Feedback = w.WriteFeedback
	case KindDecision:
		h.Decision = w.WriteDecision
	}
	return h
}

// createTemp creates a new file beside the output, as os.CreateTemp does,
// but with mode 0644 less the umask, as os.Create would give the output:
// os.CreateTemp's 0600 would make the renamed output private.
func createTemp(dir, prefix string) (*os.File, error) {
	for range 1000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no free temporary name %s* in %s", prefix, dir)
}

// Close finishes the file and moves it into place.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.enc.close()
	if w.z != nil {
		if zerr := w.z.Close(); err == nil {
			err = zerr
		}
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("writing %s: %w", w.path, err)
	}
	return nil
}

// Abort discards what was written.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	if w.z != nil {
		w.z.Close()
	}
	w.f.Close()
	os.Remove(w.tmp)
}

// Canonical JSON shapes; the field names are the layouts' own.

type outcomeJSON struct {
	PromptID  string            `json:"prompt_id"`
	Prompt    string            `json:"prompt"`
	Model     string            `json:"model"`
	Score     float64           `json:"score"`
	Cost      *float64          `json:"cost,omitempty"`
	Task      string            `json:"task,omitempty"`
	Timestamp string            `json:"timestamp,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
}

type battleJSON struct {
	PromptID  string            `json:"prompt_id"`
	Prompt    string            `json:"prompt"`
	ModelA    string            `json:"model_a"`
	ModelB    string            `json:"model_b"`
	Winner    Winner            `json:"winner"`
	Task      string            `json:"task,omitempty"`
	Judge     string            `json:"judge,omitempty"`
	Language  string            `json:"language,omitempty"`
	Turn      int               `json:"turn,omitempty"`
	Timestamp string            `json:"timestamp,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
}

type feedbackJSON struct {
	RequestID     string   `json:"request_id"`
	Timestamp     string   `json:"timestamp,omitempty"`
	Prompt        string   `json:"prompt,omitempty"`
	PromptID      string   `json:"prompt_id,omitempty"`
	Model         string   `json:"model"`
	RouterVersion string   `json:"router_version,omitempty"`
	Signal        any      `json:"signal"`
	Cost          *float64 `json:"cost,omitempty"`
	LatencyMS     *float64 `json:"latency_ms,omitempty"`
}

type decisionJSON struct {
	RequestID     string             `json:"request_id"`
	Timestamp     string             `json:"timestamp,omitempty"`
	PromptHash    string             `json:"prompt_hash,omitempty"`
	Prompt        string             `json:"prompt,omitempty"`
	Router        string             `json:"router,omitempty"`
	RouterVersion string             `json:"router_version,omitempty"`
	ChosenModel   string             `json:"chosen_model"`
	Scores        map[string]float64 `json:"scores,omitempty"`
	Policy        json.RawMessage    `json:"policy,omitempty"`
	LatencyUS     float64            `json:"latency_us"`
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func optFloat(f float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &f
}

func (f *Feedback) signalValue() any {
	if f.HasScore {
		return f.Score
	}
	return f.Signal
}

func toJSONShape(rec any) any {
	switch x := rec.(type) {
	case *Outcome:
		return outcomeJSON{x.PromptID, x.Prompt, x.Model, x.Score, optFloat(x.Cost, x.HasCost), x.Task, timeText(x.Time), x.Meta}
	case *Battle:
		return battleJSON{x.PromptID, x.Prompt, x.ModelA, x.ModelB, x.Winner, x.Task, x.Judge, x.Language, x.Turn, timeText(x.Time), x.Meta}
	case *Feedback:
		return feedbackJSON{x.RequestID, timeText(x.Time), x.Prompt, x.PromptID, x.Model, x.RouterVersion, x.signalValue(),
			optFloat(x.Cost, x.HasCost), optFloat(x.LatencyMS, x.HasLatency)}
	case *Decision:
		d := decisionJSON{RequestID: x.RequestID, Timestamp: timeText(x.Time), PromptHash: x.PromptHash, Prompt: x.Prompt,
			Router: x.Router, RouterVersion: x.RouterVersion, ChosenModel: x.ChosenModel, Scores: x.Scores, LatencyUS: x.LatencyUS}
		if x.Policy != "" {
			if json.Valid([]byte(x.Policy)) {
				d.Policy = json.RawMessage(x.Policy)
			} else {
				b, _ := json.Marshal(x.Policy)
				d.Policy = b
			}
		}
		return d
	}
	panic(fmt.Sprintf("data: no JSON shape for %T", rec))
}

type jsonlEncoder struct {
	w *bufio.Writer
}

func (e *jsonlEncoder) write(rec any) error {
	b, err := json.Marshal(toJSONShape(rec))
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = e.w.Write(b)
	return err
}

func (e *jsonlEncoder) close() error { return e.w.Flush() }

// csvColumns are the canonical CSV columns of each kind.
var csvColumns = map[Kind][]string{
	KindOutcome:  {"prompt_id", "prompt", "model", "score", "cost", "task", "timestamp", "meta"},
	KindBattle:   {"prompt_id", "prompt", "model_a", "model_b", "winner", "task", "judge", "language", "turn", "timestamp", "meta"},
	KindFeedback: {"request_id", "timestamp", "prompt", "prompt_id", "model", "router_version", "signal", "cost", "latency_ms"},
}

type csvEncoder struct {
	bw  *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSVEncoder(f io.Writer, k Kind) (*csvEncoder, error) {
	cols, ok := csvColumns[k]
	if !ok {
		return nil, fmt.Errorf("%s cannot be written as CSV", k)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	e := &csvEncoder{bw: bw, w: csv.NewWriter(bw)}
	return e, e.w.Write(cols)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func optFloatText(f float64, ok bool) string {
	if !ok {
		return ""
	}
	return fmtFloat(f)
}

func metaText(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (e *csvEncoder) write(rec any) error {
	e.rec = e.rec[:0]
	switch x := rec.(type) {
	case *Outcome:
		e.rec = append(e.rec, x.PromptID, x.Prompt, x.Model, fmtFloat(x.Score), optFloatText(x.Cost, x.HasCost), x.Task, timeText(x.Time), metaText(x.Meta))
	case *Battle:
		turn := ""
		if x.Turn != 0 {
			turn = strconv.Itoa(x.Turn)
		}
		e.rec = append(e.rec, x.PromptID, x.Prompt, x.ModelA, x.ModelB, string(x.Winner), x.Task, x.Judge, x.Language, turn, timeText(x.Time), metaText(x.Meta))
	case *Feedback:
		sig := x.Signal
		if x.HasScore {
			sig = fmtFloat(x.Score)
		}
		e.rec = append(e.rec, x.RequestID, timeText(x.Time), x.Prompt, x.PromptID, x.Model, x.RouterVersion, sig,
			optFloatText(x.Cost, x.HasCost), optFloatText(x.LatencyMS, x.HasLatency))
	default:
		return fmt.Errorf("%T cannot be written as CSV", rec)
	}
	return e.w.Write(e.rec)
}

func (e *csvEncoder) close() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return err
	}
	return e.bw.Flush()
}

// parquetColumn is one column of a canonical Parquet schema.
type parquetColumn struct {
	field  arrow.Field
	append func(b array.Builder, rec any)
}

func strCol(name string, get func(rec any) string) parquetColumn {
	return parquetColumn{arrow.Field{Name: name, Type: arrow.BinaryTypes.String}, func(b array.Builder, rec any) {
		b.(*array.StringBuilder).Append(get(rec))
	}}
}

func optStrCol(name string, get func(rec any) string) parquetColumn {
	return parquetColumn{arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}, func(b array.Builder, rec any) {
		if s := get(rec); s != "" {
			b.(*array.StringBuilder).Append(s)
		} else {
			b.AppendNull()
		}
	}}
}

func floatCol(name string, get func(rec any) (float64, bool)) parquetColumn {
	return parquetColumn{arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}, func(b array.Builder, rec any) {
		if f, ok := get(rec); ok {
			b.(*array.Float64Builder).Append(f)
		} else {
			b.AppendNull()
		}
	}}
}

func timeCol(name string, get func(rec any) time.Time) parquetColumn {
	return parquetColumn{arrow.Field{Name: name, Type: timestampType, Nullable: true}, func(b array.Builder, rec any) {
		if t := get(rec); !t.IsZero() {
			b.(*array.TimestampBuilder).Append(toTimestamp(t))
		} else {
			b.AppendNull()
		}
	}}
}

var parquetColumns = map[Kind][]parquetColumn{
	KindOutcome: {
		strCol("prompt_id", func(r any) string { return r.(*Outcome).PromptID }),
		strCol("prompt", func(r any) string { return r.(*Outcome).Prompt }),
		strCol("model", func(r any) string { return r.(*Outcome).Model }),
		floatCol("score", func(r any) (float64, bool) { return r.(*Outcome).Score, true }),
		floatCol("cost", func(r any) (float64, bool) { o := r.(*Outcome); return o.Cost, o.HasCost }),
		optStrCol("task", func(r any) string { return r.(*Outcome).Task }),
		timeCol("timestamp", func(r any) time.Time { return r.(*Outcome).Time }),
		optStrCol("meta", func(r any) string { return metaText(r.(*Outcome).Meta) }),
	},
	KindBattle: {
		strCol("prompt_id", func(r any) string { return r.(*Battle).PromptID }),
		strCol("prompt", func(r any) string { return r.(*Battle).Prompt }),
		strCol("model_a", func(r any) string { return r.(*Battle).ModelA }),
		strCol("model_b", func(r any) string { return r.(*Battle).ModelB }),
		strCol("winner", func(r any) string { return string(r.(*Battle).Winner) }),
		optStrCol("task", func(r any) string { return r.(*Battle).Task }),
		optStrCol("judge", func(r any) string { return r.(*Battle).Judge }),
		optStrCol("language", func(r any) string { return r.(*Battle).Language }),
		{arrow.Field{Name: "turn", Type: arrow.PrimitiveTypes.Int32, Nullable: true}, func(b array.Builder, r any) {
			if t := r.(*Battle).Turn; t != 0 {
				b.(*array.Int32Builder).Append(int32(t))
			} else {
				b.AppendNull()
			}
		}},
		timeCol("timestamp", func(r any) time.Time { return r.(*Battle).Time }),
		optStrCol("meta", func(r any) string { return metaText(r.(*Battle).Meta) }),
	},
	KindFeedback: {
		strCol("request_id", func(r any) string { return r.(*Feedback).RequestID }),
		timeCol("timestamp", func(r any) time.Time { return r.(*Feedback).Time }),
		optStrCol("prompt", func(r any) string { return r.(*Feedback).Prompt }),
		optStrCol("prompt_id", func(r any) string { return r.(*Feedback).PromptID }),
		strCol("model", func(r any) string { return r.(*Feedback).Model }),
		optStrCol("router_version", func(r any) string { return r.(*Feedback).RouterVersion }),
		strCol("signal", func(r any) string {
			f := r.(*Feedback)
			if f.HasScore {
				return fmtFloat(f.Score)
			}
			return f.Signal
		}),
		floatCol("cost", func(r any) (float64, bool) { f := r.(*Feedback); return f.Cost, f.HasCost }),
		floatCol("latency_ms", func(r any) (float64, bool) { f := r.(*Feedback); return f.LatencyMS, f.HasLatency }),
	},
}

// parquetRowGroup is the most rows of one row group and record batch,
// and parquetRowGroupBytes about the most bytes of text it buffers
// (prompts can be long: memory stays bounded whatever their size).
const (
	parquetRowGroup      = 64 << 10
	parquetRowGroupBytes = 32 << 20
)

type parquetEncoder struct {
	cols []parquetColumn
	b    *array.RecordBuilder
	fw   *pqarrow.FileWriter
	n    int
}

func newParquetEncoder(f io.Writer, k Kind) (*parquetEncoder, error) {
	cols, ok := parquetColumns[k]
	if !ok {
		return nil, fmt.Errorf("%s cannot be written as Parquet", k)
	}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	md := arrow.NewMetadata([]string{"routekit.kind", "routekit.format"}, []string{k.String(), "1"})
	schema := arrow.NewSchema(fields, &md)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithMaxRowGroupLength(parquetRowGroup))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetEncoder{cols: cols, b: array.NewRecordBuilder(memory.DefaultAllocator, schema), fw: fw}, nil
}

func (e *parquetEncoder) write(rec any) error {
	for i, c := range e.cols {
		c.append(e.b.Field(i), rec)
	}
	e.n++
	if e.n >= parquetRowGroup || (e.n%256 == 0 && e.textBytes() >= parquetRowGroupBytes) {
		return e.flush()
	}
	return nil
}

// textBytes returns the bytes of the string and binary values buffered.
func (e *parquetEncoder) textBytes() int {
	n := 0
	for i := range e.cols {
		if b, ok := e.b.Field(i).(interface{ DataLen() int }); ok {
			n += b.DataLen()
		}
	}
	return n
}

func (e *parquetEncoder) flush() error {
	if e.n == 0 {
		return nil
	}
	rec := e.b.NewRecordBatch()
	defer rec.Release()
	e.n = 0
	return e.fw.Write(rec)
}

func (e *parquetEncoder) close() error {
	err := e.flush()
	e.b.Release()
	if cerr := e.fw.Close(); err == nil {
		err = cerr
	}
	return err
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
