package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Options control reading. The zero value sniffs the container and the
// layout and stops at the first bad row.
type Options struct {
	// Container overrides the extension; zero means guess from the name.
	Container Container
	// Layout overrides the sniffing of fields; zero means sniff.
	Layout Layout
	// Models names the model columns of a wide table. When it and Catalog
	// are empty, a column is a model when its first non-empty value is a
	// score.
	Models []string
	// Catalog, when set, names the model columns of wide tables.
	Catalog *Catalog
	// Task labels outcomes whose source has no task; zero means the file
	// name's stem for wide tables and none otherwise.
	Task string
	// LastTurn takes the last user turn of a conversation as the prompt
	// instead of the first.
	LastTurn bool
	// SkipInvalid skips bad rows, counting them, instead of stopping.
	SkipInvalid bool
	// Tasks labels records whose source has no task.
	Tasks *TaskMap
	// Exclude drops prompts of this set (a contamination filter).
	Exclude *PromptSet
	// Dedup merges prompts of equal normalised text under the first
	// prompt id seen and drops repeated (prompt, model) outcomes.
	Dedup bool
	// Progress, when set, is called for progress bars with how much of
	// each file has been read: bytes as stored (the compressed bytes of a
	// .gz or .zst file) of a text file, rows of a Parquet file. It is
	// first called with done 0 when the file opens. It must be cheap and
	// safe to call from another goroutine than Read's.
	Progress func(file string, done, total int64)
}

// Handler receives the records read. A nil field means that kind is not
// wanted, and meeting it is an error wrapping ErrUnexpectedKind.
type Handler struct {
	Outcome  func(*Outcome) error
	Battle   func(*Battle) error
	Feedback func(*Feedback) error
	Decision func(*Decision) error
}

// FileReport says what was read from one file.
type FileReport struct {
	File      string
	Container Container
	Layout    Layout
	// Rows counts the source rows (lines, elements, Parquet rows) read.
	Rows int
	// Records counts the records passed to the handler.
	Records int
	// Missing counts the empty score cells of the rows handed on: a wide
	// table's empty model cell or a score map's null, that is, a model
	// without an answer to a prompt.
	Missing int `json:",omitempty"`
	// Models lists the model columns of a wide table.
	Models []string `json:",omitempty"`
}

// Report says what a read did, over all files.
type Report struct {
	Files []FileReport
	// Rows counts source rows; Records the records handed on, by kind.
	Rows      int
	Outcomes  int
	Battles   int
	Feedback  int
	Decisions int
	// Missing counts empty score cells (no answer of a model to a
	// prompt), which make no record and are no error.
	Missing int
	// Skipped counts records or rows left out, by reason: "invalid
	// <field>" and "invalid row" (bad rows, with SkipInvalid), "no scores"
	// (rows of per-model scores where every score is empty, with
	// SkipInvalid), "excluded", "duplicate".
	Skipped map[string]int
	// Examples holds the first errors of skipped rows, with positions.
	Examples []string
	prompts  map[string]struct{}
	models   map[string]struct{}
}

// maxExamples is how many skipped-row errors a Report keeps.
const maxExamples = 10

// Prompts is the number of distinct prompt ids handed on.
func (r *Report) Prompts() int { return len(r.prompts) }

// Models returns the distinct model names handed on, sorted.
func (r *Report) Models() []string {
	out := make([]string, 0, len(r.models))
	for m := range r.models {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// TotalSkipped is the number of records or rows left out.
func (r *Report) TotalSkipped() int {
	n := 0
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

func (r *Report) skip(reason string, err error) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Skipped[reason]++
	if err != nil && len(r.Examples) < maxExamples {
		r.Examples = append(r.Examples, err.Error())
	}
}

func (r *Report) see(promptID string, models ...string) {
	if r.prompts == nil {
		r.prompts = map[string]struct{}{}
		r.models = map[string]struct{}{}
	}
	r.prompts[promptID] = struct{}{}
	for _, m := range models {
		r.models[m] = struct{}{}
	}
}

// A Reader reads files of any known container and layout into canonical
// records, applying one set of Options across files (so de-duplication
// spans them). A Reader is not safe for concurrent use.
type Reader struct {
	opt    Options
	report Report
	// byText maps the hash of a normalised prompt text to the first
	// prompt id (Dedup); see textKey.
	byText map[textKey]string
	// seen holds (prompt, model) pairs already handed on (Dedup), as
	// prompt number << 32 | model number.
	seen    map[uint64]struct{}
	promptN map[string]uint64
	modelN  map[string]uint64
}

// NewReader returns a Reader with the given options.
func NewReader(opt Options) *Reader {
	r := &Reader{opt: opt}
	if opt.Dedup {
		r.byText = map[textKey]string{}
		r.seen = map[uint64]struct{}{}
		r.promptN = map[string]uint64{}
		r.modelN = map[string]uint64{}
	}
	return r
}

// pairKey numbers a (prompt id, model) pair for the Dedup set; rows of
// one prompt usually come together, so the last prompt is remembered.
func (r *Reader) pairKey(promptID, model string) uint64 {
	p, ok := r.promptN[promptID]
	if !ok {
		p = uint64(len(r.promptN))
		r.promptN[promptID] = p
	}
	m, ok := r.modelN[model]
	if !ok {
		m = uint64(len(r.modelN))
		r.modelN[model] = m
	}
	return p<<32 | m
}

// Report returns what was read so far.
func (r *Reader) Report() *Report { return &r.report }

// Read reads one file, passing its records to h.
func (r *Reader) Read(ctx context.Context, path string, h Handler) error {
	c := r.opt.Container
	if c == "" {
		var err error
		if c, err = ContainerOf(path); err != nil {
			return err
		}
	}
	src, err := r.open(ctx, path, c)
	if err != nil {
		return err
	}
	defer src.Close()
	fr := FileReport{File: path, Container: c, Layout: r.opt.Layout}
	// The decoder needs the file's keys: a CSV header or Parquet schema
	// gives them up front, JSON only with its first good record, so JSON
	// is sniffed there. (Bad records before it are errors of their own
	// lines; a file whose first record has no keys is no empty file.)
	var dec decoder
	newDec := func(line int) error {
		keys := src.keys()
		layout := r.opt.Layout
		if layout == "" {
			var err error
			if layout, err = SniffLayout(keys); err != nil {
				return &ParseError{File: path, Line: line, Err: err}
			}
		}
		fr.Layout = layout
		opt := r.opt
		if opt.Task == "" && layout == LayoutWide {
			opt.Task = fileStem(path)
		}
		d, err := newDecoder(layout, keys, &opt, path)
		if err != nil {
			return err
		}
		dec = d
		return nil
	}
	if (c == CSV || c == Parquet) && len(src.keys()) > 0 {
		if err := newDec(1); err != nil {
			return err
		}
	}
	em := &fileEmitter{r: r, h: h, file: path, fr: &fr}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		g, line, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *ParseError
			if r.opt.SkipInvalid && errors.As(err, &pe) && src.recoverable() {
				fr.Rows++
				r.report.skip("invalid row", err)
				continue
			}
			return err
		}
		fr.Rows++
		if dec == nil {
			if err := newDec(line); err != nil {
				return err
			}
		}
		em.line = line
		em.pending = em.pending[:0]
		em.missing = 0
		if err := dec.decode(row{g}, em); err != nil {
			var fe *fieldError
			if !errors.As(err, &fe) {
				return err
			}
			pe := &ParseError{File: path, Line: line, Field: fe.field, Err: fe.err}
			if !r.opt.SkipInvalid {
				return pe
			}
			r.report.skip("invalid "+fieldRoot(fe.field), pe)
			continue
		}
		if len(em.pending) == 0 {
			// Only layouts of per-model scores make no record of a good
			// row: one whose every score is empty says nothing, and is
			// more often a sign of misread columns than an intended row.
			pe := &ParseError{File: path, Line: line, Err: errNoScores}
			if !r.opt.SkipInvalid {
				return pe
			}
			r.report.skip("no scores", pe)
			continue
		}
		// A row is handed on whole or not at all.
		if err := em.flush(); err != nil {
			return err
		}
	}
	if wd, ok := dec.(*wideDecoder); ok {
		fr.Models = wd.Models()
	}
	r.report.Rows += fr.Rows
	r.report.Files = append(r.report.Files, fr)
	return nil
}

// errNoScores is the error of a row without a single score.
var errNoScores = errors.New("no scores: every model's score is empty (--skip-invalid skips such rows, counted as \"no scores\")")

// fieldRoot names the field of an error without per-model suffixes, so
// skip reasons stay few: "scores.gpt-4" counts as "scores", while a wide
// table's model column keeps its whole name (model names contain dots).
func fieldRoot(f string) string {
	if i := strings.IndexByte(f, '['); i > 0 {
		f = f[:i]
	}
	if root, _, ok := strings.Cut(f, "."); ok && structuredFields[root] {
		return root
	}
	return f
}

// structuredFields hold per-model or nested values.
var structuredFields = map[string]bool{"scores": true, "model_performance": true, "meta": true}

func fileStem(path string) string {
	base := path
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	for _, ext := range []string{".gz", ".zst", ".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

func (r *Reader) open(ctx context.Context, path string, c Container) (rowSource, error) {
	if c == Parquet {
		return newParquetSource(ctx, path, r.opt.Progress)
	}
	rc, err := openTextProgress(path, r.opt.Progress)
	if err != nil {
		return nil, err
	}
	var src rowSource
	switch c {
	case JSONL:
		if src, err = newJSONLSource(path, rc); err == nil {
			src = &readAhead{rowSource: src}
		}
	case JSON:
		if src, err = newJSONSource(path, rc); err == nil {
			src = &readAhead{rowSource: src}
		}
	case CSV:
		src, err = newCSVSource(path, rc)
	default:
		err = fmt.Errorf("%s: unknown format %q", path, c)
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	return src, nil
}

// fileEmitter validates, filters and buffers the records of one row.
type fileEmitter struct {
	r       *Reader
	h       Handler
	file    string
	line    int
	fr      *FileReport
	pending []any
	// missing counts the current row's empty score cells.
	missing int
	// The last prompt id computed, for rows of the same prompt.
	lastPrompt, lastIn, lastOut string
	lastOK                      bool
	taskPrompt, lastTask        string
	taskOK                      bool
}

func (e *fileEmitter) kindErr(k Kind) error {
	return &ParseError{File: e.file, Line: e.line, Err: fmt.Errorf("%w: the file holds %s", ErrUnexpectedKind, k)}
}

// promptID fills a missing prompt id and, with Dedup, maps equal texts to
// the first id seen.
func (e *fileEmitter) promptID(id, prompt string) string {
	// Rows of one prompt usually come together: reuse the last answer.
	if e.lastOK && prompt == e.lastPrompt && id == e.lastIn {
		return e.lastOut
	}
	out := e.computePromptID(id, prompt)
	e.lastPrompt, e.lastIn, e.lastOut, e.lastOK = prompt, id, out, true
	return out
}

// textKey identifies a normalised prompt text for Dedup: the first 128
// bits of its SHA-256. Keeping the hash instead of the text bounds the
// memory of a de-duplicating read by the number of distinct prompts, not
// their length. Two different prompts share a key with probability about
// n²/2¹²⁹ for n distinct prompts: below 10⁻²² for a billion.
type textKey [16]byte

func (e *fileEmitter) computePromptID(id, prompt string) string {
	if e.r.byText == nil {
		if id == "" {
			return PromptIDOf(prompt)
		}
		return id
	}
	// The same hash as PromptIDOf, computed once for both.
	sum := sha256.Sum256([]byte(NormalizePrompt(prompt)))
	key := textKey(sum[:16])
	if first, ok := e.r.byText[key]; ok {
		return first
	}
	if id == "" {
		id = hex.EncodeToString(sum[:8])
	}
	e.r.byText[key] = id
	return id
}

// task looks a prompt's task up in Options.Tasks, remembering the last.
func (e *fileEmitter) task(prompt string) string {
	if e.r.opt.Tasks == nil {
		return ""
	}
	if prompt != e.taskPrompt || !e.taskOK {
		e.taskPrompt, e.taskOK = prompt, true
		e.lastTask, _ = e.r.opt.Tasks.Task(prompt)
	}
	return e.lastTask
}

func (e *fileEmitter) excluded(prompt string) bool {
	return e.r.opt.Exclude != nil && prompt != "" && e.r.opt.Exclude.Contains(prompt)
}

// noAnswer counts empty score cells of the current row.
func (e *fileEmitter) noAnswer(n int) { e.missing += n }

func (e *fileEmitter) outcome(o *Outcome) error {
	if e.h.Outcome == nil {
		return e.kindErr(KindOutcome)
	}
	if o.Prompt == "" && o.PromptID == "" {
		return ferr("prompt", "missing")
	}
	e.pending = append(e.pending, o)
	return nil
}

func (e *fileEmitter) battle(b *Battle) error {
	if e.h.Battle == nil {
		return e.kindErr(KindBattle)
	}
	e.pending = append(e.pending, b)
	return nil
}

func (e *fileEmitter) feedback(f *Feedback) error {
	if e.h.Feedback == nil {
		return e.kindErr(KindFeedback)
	}
	e.pending = append(e.pending, f)
	return nil
}

func (e *fileEmitter) decision(d *Decision) error {
	if e.h.Decision == nil {
		return e.kindErr(KindDecision)
	}
	e.pending = append(e.pending, d)
	return nil
}

// flush hands on the records of the current row.
func (e *fileEmitter) flush() error {
	rep := &e.r.report
	rep.Missing += e.missing
	e.fr.Missing += e.missing
	for _, rec := range e.pending {
		var err error
		switch x := rec.(type) {
		case *Outcome:
			if !e.admit(x.Prompt, &x.PromptID, &x.Task) {
				continue
			}
			if e.r.seen != nil {
				k := e.r.pairKey(x.PromptID, x.Model)
				if _, dup := e.r.seen[k]; dup {
					rep.skip("duplicate", nil)
					continue
				}
				e.r.seen[k] = struct{}{}
			}
			rep.see(x.PromptID, x.Model)
			rep.Outcomes++
			err = e.h.Outcome(x)
		case *Battle:
			if !e.admit(x.Prompt, &x.PromptID, &x.Task) {
				continue
			}
			rep.see(x.PromptID, x.ModelA, x.ModelB)
			rep.Battles++
			err = e.h.Battle(x)
		case *Feedback:
			if !e.admit(x.Prompt, &x.PromptID, nil) {
				continue
			}
			rep.Feedback++
			err = e.h.Feedback(x)
		case *Decision:
			rep.Decisions++
			err = e.h.Decision(x)
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", e.file, e.line, err)
		}
		e.fr.Records++
	}
	return nil
}

// admit applies the exclusion filter, counting what it drops, and fills
// a record's prompt id and, when task is not nil, its task. A record
// without prompt text keeps the prompt id its source gave.
func (e *fileEmitter) admit(prompt string, id, task *string) bool {
	if e.excluded(prompt) {
		e.r.report.skip("excluded", nil)
		return false
	}
	if prompt != "" || *id == "" {
		*id = e.promptID(*id, prompt)
	}
	if task != nil && *task == "" {
		*task = e.task(prompt)
	}
	return true
}

// Dataset holds records read whole into memory.
type Dataset struct {
	Outcomes  []Outcome
	Battles   []Battle
	Feedback  []Feedback
	Decisions []Decision
}

// ReadFiles reads files of any layout into memory.
func ReadFiles(ctx context.Context, paths []string, opt Options) (*Dataset, *Report, error) {
	var ds Dataset
	rd := NewReader(opt)
	h := Handler{
		Outcome:  func(o *Outcome) error { ds.Outcomes = append(ds.Outcomes, *o); return nil },
		Battle:   func(b *Battle) error { ds.Battles = append(ds.Battles, *b); return nil },
		Feedback: func(f *Feedback) error { ds.Feedback = append(ds.Feedback, *f); return nil },
		Decision: func(d *Decision) error { ds.Decisions = append(ds.Decisions, *d); return nil },
	}
	for _, p := range paths {
		if err := rd.Read(ctx, p, h); err != nil {
			return nil, rd.Report(), err
		}
	}
	return &ds, rd.Report(), nil
}

// progressReader reports bytes read.
type progressReader struct {
	io.ReadCloser
	file  string
	done  int64
	total int64
	fn    func(string, int64, int64)
}

func newProgressReader(file string, rc io.ReadCloser, fn func(string, int64, int64)) io.ReadCloser {
	var total int64 = -1
	if f, ok := rc.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			total = fi.Size()
		}
	}
	return &progressReader{ReadCloser: rc, file: file, total: total, fn: fn}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.ReadCloser.Read(b)
	p.done += int64(n)
	p.fn(p.file, p.done, p.total)
	return n, err
}
