package data

// Round-trip property tests. For every layout and container of formats.md,
// a seeded generator makes ground-truth records, writes them as a source
// file in that layout, and the test checks that
//
//  1. ReadFiles gives exactly the ground truth (R), in file order;
//  2. writing R (of all the case's files) as canonical Parquet, JSONL and
//     CSV, plain and compressed, and reading that back gives R again,
//     exactly (R2 == R).
//
// Text sources are written plain, .gz or .zst at random. Strings are
// awkward on purpose (unicode, emoji, quotes, commas, newlines, tabs,
// leading and trailing spaces), and prompts must come back verbatim. The
// generators avoid "\r": Go's encoding/csv reads "\r\n" inside a quoted
// field as "\n", so a CR LF in a prompt does not survive CSV.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
)

// rtFiles is the number of random source files per layout and container;
// each holds 1 to rtMaxRows rows.
const (
	rtFiles   = 30
	rtMaxRows = 50
)

// ---- generators ----

type rtGen struct{ *rand.Rand }

// newRTGen seeds a generator from a case name, so adding a case does not
// change the files of the others.
func newRTGen(name string) rtGen {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rtGen{rand.New(rand.NewPCG(h.Sum64(), 20260101))}
}

var (
	rtPieces = []string{
		"What is 2+2?",
		"Résumé of a naïve café owner",
		"日本語で答えてください",
		"emoji 🤖🚀👍🏽 test",
		`She said "hi", then 'bye'`,
		"a,b,,c",
		"line one\nline two",
		"col1\tcol2",
		"  spaced  ",
		`back\slash \n is not a newline`,
		"{'python': 'dict', 'x': 1}",
		`["json", "list"]`,
		"<b>&amp;</b>",
		"Ελληνικά και עברית",
		"null",
		"True",
		"0.5",
		"=SUM(A1:A3)",
		"non\u00a0breaking",
		"zero\u200bwidth",
		"#hash",
		"ends with newline\n",
		"Ünïcödé ÆØÅ ß",
		"",
	}
	rtSeps   = []string{" ", "\n", ", ", "\t", "", "\n\n"}
	rtModels = []string{
		"gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1", "claude-3.5-sonnet",
		"llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "gemma-2-9b-it", "Modèle-ü",
		"m'quote", `m"dq`, "deep seek r1", "model,comma",
	}
	rtTasks     = []string{"", "", "mmlu", "gsm8k", "médecine", "code, python", "mt bench"}
	rtLanguages = []string{"English", "Chinese", "Deutsch", "unknown", ""}
	rtJudges    = []string{"", "arena_user_973", "gpt-4", "task_metric"}
	rtSignals   = []string{SignalThumbsUp, SignalThumbsDown, SignalRetry, SignalCompleted}
	rtMetaKeys  = []string{"source", "difficulty", "judge note", "ключ", "sample"}
)

func (g rtGen) pick(xs []string) string { return xs[g.IntN(len(xs))] }
func (g rtGen) chance(n int) bool       { return g.IntN(n) == 0 }

// text returns awkward text with at least one non-space character.
func (g rtGen) text() string {
	var b strings.Builder
	for i, n := 0, 1+g.IntN(4); i < n; i++ {
		if i > 0 {
			b.WriteString(g.pick(rtSeps))
		}
		b.WriteString(g.pick(rtPieces))
	}
	s := b.String()
	if strings.TrimSpace(s) == "" {
		s += "fallback"
	}
	if g.chance(6) {
		s = "  " + s + " \t"
	}
	return s
}

func (g rtGen) id() string {
	switch g.IntN(4) {
	case 0:
		return fmt.Sprintf("q-%d", g.IntN(1_000_000))
	case 1:
		return fmt.Sprintf("%016x", g.Uint64())
	case 2:
		return fmt.Sprintf("id, ünï %d", g.IntN(1000))
	}
	return strconv.Itoa(g.IntN(100000))
}

func (g rtGen) score() float64 {
	switch g.IntN(5) {
	case 0:
		return 0
	case 1:
		return 1
	case 2:
		return float64(g.IntN(5)) / 4
	}
	return g.Float64()
}

func (g rtGen) cost() (float64, bool) {
	switch g.IntN(6) {
	case 0, 1:
		return 0, false
	case 2:
		return 0, true
	}
	return g.Float64() / 100, true
}

// when returns the zero time (unknown) or a UTC time with microseconds.
func (g rtGen) when() time.Time {
	if g.chance(3) {
		return time.Time{}
	}
	return time.UnixMicro(1_500_000_000_000_000 + g.Int64N(300_000_000_000_000)).UTC()
}

func (g rtGen) meta() map[string]string {
	m := map[string]string{}
	for i, n := 0, 1+g.IntN(3); i < n; i++ {
		v := g.text()
		if g.chance(5) {
			v = ""
		}
		m[g.pick(rtMetaKeys)] = v
	}
	return m
}

// timeText writes a time in one of the text forms the readers accept.
func (g rtGen) timeText(t time.Time) string {
	switch g.IntN(5) {
	case 0:
		return t.In(time.FixedZone("", 5*3600+1800)).Format(time.RFC3339Nano)
	case 1:
		return t.Format("2006-01-02 15:04:05.999999")
	case 2:
		return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', -1, 64)
	case 3:
		return t.Format("2006-01-02T15:04:05.999999")
	}
	return t.Format(time.RFC3339Nano)
}

// timeJSON is a time as a JSON value: text or Unix seconds.
func (g rtGen) timeJSON(t time.Time) any {
	if g.chance(4) {
		return float64(t.UnixMicro()) / 1e6
	}
	return g.timeText(t)
}

// scoreJSON is a score as a JSON value: a number, a numeric string or a
// boolean for 0 and 1.
func (g rtGen) scoreJSON(s float64) any {
	switch {
	case g.chance(8):
		return strconv.FormatFloat(s, 'g', -1, 64)
	case (s == 0 || s == 1) && g.chance(6):
		return s == 1
	}
	return s
}

func (g rtGen) scoreText(s float64) string {
	if (s == 0 || s == 1) && g.chance(3) {
		if s == 1 {
			return g.pick([]string{"True", "true", "1", "1.0"})
		}
		return g.pick([]string{"False", "false", "0", "0.0"})
	}
	return strconv.FormatFloat(s, 'g', -1, 64)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// ---- source writers ----

// textExt returns a random compression suffix for a text source.
func (g rtGen) textExt() string { return g.pick([]string{"", "", ".gz", ".zst"}) }

// writeSource writes a text file, compressed by its suffix.
func writeSource(t testing.TB, path string, b []byte) {
	t.Helper()
	var buf bytes.Buffer
	switch {
	case strings.HasSuffix(path, ".gz"):
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b = buf.Bytes()
	case strings.HasSuffix(path, ".zst"):
		zw, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(b)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b = buf.Bytes()
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// jsonArray encodes objects as a JSON array: indented, on one line, or one
// element a line, sometimes after blank lines.
func (g rtGen) jsonArray(objs []map[string]any) []byte {
	var b []byte
	switch g.IntN(3) {
	case 0:
		var err error
		if b, err = json.MarshalIndent(objs, "", "  "); err != nil {
			panic(err)
		}
	case 1:
		b = mustJSON(objs)
	default:
		b = append(b, "[\n"...)
		for i, o := range objs {
			if i > 0 {
				b = append(b, ",\n"...)
			}
			b = append(b, mustJSON(o)...)
		}
		b = append(b, "\n]\n"...)
	}
	if g.chance(4) {
		b = append([]byte("\n \n\t"), b...)
	}
	return b
}

// jsonLines encodes objects one a line, with blank lines and CR LF line
// ends at random.
func (g rtGen) jsonLines(objs []map[string]any) []byte {
	var b []byte
	eol := "\n"
	if g.chance(4) {
		eol = "\r\n"
	}
	for _, o := range objs {
		if g.chance(10) {
			b = append(b, eol...)
		}
		b = append(b, mustJSON(o)...)
		b = append(b, eol...)
	}
	return b
}

func (g rtGen) csvBytes(header []string, rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = g.chance(3)
	w.Write(header)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// shuffled returns a random permutation of xs.
func (g rtGen) shuffled(xs []string) []string {
	out := append([]string(nil), xs...)
	g.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// pqCol is one column of a test Parquet file: its field and how to append
// row i.
type pqCol struct {
	f   arrow.Field
	add func(b array.Builder, i int)
}

func pqStr(name string, get func(i int) (string, bool)) pqCol {
	return pqCol{arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}, func(b array.Builder, i int) {
		if s, ok := get(i); ok {
			b.(*array.StringBuilder).Append(s)
		} else {
			b.AppendNull()
		}
	}}
}

// pqDict is a dictionary-encoded string column.
func pqDict(name string, get func(i int) string) pqCol {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	return pqCol{arrow.Field{Name: name, Type: dt}, func(b array.Builder, i int) {
		if err := b.(*array.BinaryDictionaryBuilder).AppendString(get(i)); err != nil {
			panic(err)
		}
	}}
}

// pqOpt is a nullable column of one Arrow type; get's false is null.
func pqOpt[T any, B interface {
	array.Builder
	Append(T)
}](name string, typ arrow.DataType, get func(i int) (T, bool)) pqCol {
	return pqCol{arrow.Field{Name: name, Type: typ, Nullable: true}, func(b array.Builder, i int) {
		if v, ok := get(i); ok {
			b.(B).Append(v)
		} else {
			b.AppendNull()
		}
	}}
}

func pqF64(name string, get func(i int) (float64, bool)) pqCol {
	return pqOpt[float64, *array.Float64Builder](name, arrow.PrimitiveTypes.Float64, get)
}

func pqI64(name string, get func(i int) (int64, bool)) pqCol {
	return pqOpt[int64, *array.Int64Builder](name, arrow.PrimitiveTypes.Int64, get)
}

func pqBool(name string, get func(i int) (bool, bool)) pqCol {
	return pqOpt[bool, *array.BooleanBuilder](name, arrow.FixedWidthTypes.Boolean, get)
}

// pqTime is a timestamp column; the zero time is null.
func pqTime(name string, get func(i int) time.Time) pqCol {
	tt := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	return pqCol{arrow.Field{Name: name, Type: tt, Nullable: true}, func(b array.Builder, i int) {
		if t := get(i); !t.IsZero() {
			b.(*array.TimestampBuilder).Append(arrow.Timestamp(t.UnixMicro()))
		} else {
			b.AppendNull()
		}
	}}
}

// turn is one {role, content} of a conversation.
type turn struct{ Role, Content string }

// pqConv is a list<struct<role, content>> column (Chatbot Arena's
// conversation_a and conversation_b).
func pqConv(name string, get func(i int) []turn) pqCol {
	st := arrow.StructOf(arrow.Field{Name: "content", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String})
	return pqCol{arrow.Field{Name: name, Type: arrow.ListOf(st), Nullable: true}, func(b array.Builder, i int) {
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		sb := lb.ValueBuilder().(*array.StructBuilder)
		for _, t := range get(i) {
			sb.Append(true)
			sb.FieldBuilder(0).(*array.StringBuilder).Append(t.Content)
			sb.FieldBuilder(1).(*array.StringBuilder).Append(t.Role)
		}
	}}
}

// writePQ writes n rows as Parquet in row groups of random size.
func (g rtGen) writePQ(t testing.TB, path string, n int, cols []pqCol) {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.f
	}
	schema := arrow.NewSchema(fields, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	for i := 0; i < n; i++ {
		for j, c := range cols {
			c.add(rb.Field(j), i)
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(1 + g.IntN(20))))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil { // closes f
		t.Fatal(err)
	}
}

// ---- layouts: each makes one source file and its ground truth ----

// rtSource is one generated source file: where it is, how to read it and
// what reading must give.
type rtSource struct {
	path string
	opt  Options
	want Dataset
	// missing is the number of empty score cells the Report must count.
	missing int
}

type rtMaker func(g rtGen, dir string, i int, t testing.TB) rtSource

func (g rtGen) rows() int { return 1 + g.IntN(rtMaxRows) }

// rtOut is a ground-truth outcome and whether its source row names no
// prompt id (so the reader derives it from the prompt).
type rtOut struct {
	Outcome
	omitID bool
}

func (g rtGen) outcomeRows(n int, ids bool) []rtOut {
	rows := make([]rtOut, n)
	for i := range rows {
		o := Outcome{Prompt: g.text(), Model: g.pick(rtModels), Score: g.score(), Task: g.pick(rtTasks), Time: g.when()}
		o.Cost, o.HasCost = g.cost()
		if g.chance(3) {
			o.Meta = g.meta()
		}
		r := rtOut{Outcome: o, omitID: !ids || g.chance(2)}
		if r.omitID {
			r.PromptID = PromptIDOf(o.Prompt)
		} else {
			r.PromptID = g.id()
		}
		rows[i] = r
	}
	return rows
}

func outcomesOf(rows []rtOut) []Outcome {
	out := make([]Outcome, len(rows))
	for i, r := range rows {
		out[i] = r.Outcome
	}
	return out
}

func (g rtGen) outcomeObject(r rtOut) map[string]any {
	m := map[string]any{"prompt": r.Prompt, "model": r.Model, "score": g.scoreJSON(r.Score)}
	switch {
	case !r.omitID:
		m["prompt_id"] = r.PromptID
	case g.chance(3):
		m["prompt_id"] = nil
	case g.chance(3):
		m["prompt_id"] = ""
	}
	if r.HasCost {
		m["cost"] = r.Cost
	} else if g.chance(2) {
		m["cost"] = nil
	}
	if r.Task != "" || g.chance(3) {
		m["task"] = r.Task
	}
	if !r.Time.IsZero() {
		m["timestamp"] = g.timeJSON(r.Time)
	} else if g.chance(3) {
		m["timestamp"] = nil
	}
	switch {
	case r.Meta != nil && g.chance(2):
		m["meta"] = r.Meta
	case r.Meta != nil:
		m["meta"] = string(mustJSON(r.Meta))
	case g.chance(4):
		// No metadata, said in every way: Meta is nil.
		m["meta"] = []any{map[string]any{}, "{}", "", nil, "null"}[g.IntN(5)]
	}
	return m
}

func outcomesText(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		rows := g.outcomeRows(g.rows(), true)
		objs := make([]map[string]any, len(rows))
		for j, r := range rows {
			objs[j] = g.outcomeObject(r)
		}
		var b []byte
		if container == "json" {
			b = g.jsonArray(objs)
		} else {
			b = g.jsonLines(objs)
		}
		path := filepath.Join(dir, fmt.Sprintf("outcomes%02d.%s%s", i, container, g.textExt()))
		writeSource(t, path, b)
		return rtSource{path: path, want: Dataset{Outcomes: outcomesOf(rows)}}
	}
}

func outcomesCSV(g rtGen, dir string, i int, t testing.TB) rtSource {
	hasID := !g.chance(4)
	rows := g.outcomeRows(g.rows(), hasID)
	cols := []string{"prompt", "model", "score", "cost", "task", "timestamp", "meta", "note"}
	if hasID {
		cols = append(cols, "prompt_id")
	}
	header := g.shuffled(cols)
	var recs [][]string
	for _, r := range rows {
		rec := make([]string, len(header))
		for k, c := range header {
			switch c {
			case "prompt_id":
				if !r.omitID {
					rec[k] = r.PromptID
				}
			case "prompt":
				rec[k] = r.Prompt
			case "model":
				rec[k] = r.Model
			case "score":
				rec[k] = g.scoreText(r.Score)
			case "cost":
				if r.HasCost {
					rec[k] = ftoa(r.Cost)
				}
			case "task":
				rec[k] = r.Task
			case "timestamp":
				if !r.Time.IsZero() {
					rec[k] = g.timeText(r.Time)
				}
			case "meta":
				if r.Meta != nil {
					rec[k] = string(mustJSON(r.Meta))
				}
			case "note":
				rec[k] = g.text()
			}
		}
		recs = append(recs, rec)
	}
	path := filepath.Join(dir, fmt.Sprintf("outcomes%02d.csv%s", i, g.textExt()))
	writeSource(t, path, g.csvBytes(header, recs))
	return rtSource{path: path, want: Dataset{Outcomes: outcomesOf(rows)}}
}

func outcomesParquet(g rtGen, dir string, i int, t testing.TB) rtSource {
	rows := g.outcomeRows(g.rows(), true)
	model := pqStr("model", func(j int) (string, bool) { return rows[j].Model, true })
	if g.chance(2) {
		model = pqDict("model", func(j int) string { return rows[j].Model })
	}
	emptyTask := g.chance(2) // an absent task as "" rather than null
	cols := []pqCol{
		pqStr("prompt_id", func(j int) (string, bool) { return rows[j].PromptID, !rows[j].omitID }),
		pqStr("prompt", func(j int) (string, bool) { return rows[j].Prompt, true }),
		model,
		pqF64("score", func(j int) (float64, bool) { return rows[j].Score, true }),
		pqF64("cost", func(j int) (float64, bool) { return rows[j].Cost, rows[j].HasCost }),
		pqStr("task", func(j int) (string, bool) { return rows[j].Task, rows[j].Task != "" || emptyTask }),
		pqTime("timestamp", func(j int) time.Time { return rows[j].Time }),
		pqStr("meta", func(j int) (string, bool) {
			if rows[j].Meta == nil {
				return "", false
			}
			return string(mustJSON(rows[j].Meta)), true
		}),
	}
	path := filepath.Join(dir, fmt.Sprintf("outcomes%02d.parquet", i))
	g.writePQ(t, path, len(rows), cols)
	return rtSource{path: path, want: Dataset{Outcomes: outcomesOf(rows)}}
}

// wideTable is a generated RouteLLM/RouterBench table.
type wideTable struct {
	header   []string
	models   []string // in header order
	cost     map[string]bool
	resp     map[string]bool
	idCol    string
	taskCol  string
	meta     []string
	explicit bool // the models are named by Options (no guessing)
	prompts  []string
	ids      []string
	tasks    []string
	scores   []map[string]float64 // missing: no answer
	costs    []map[string]float64 // missing: no cost
	resps    []map[string]string  // missing: null (Parquet) or "" (CSV)
	metas    []map[string]string  // missing: null (Parquet) or "" (CSV)
}

func (g rtGen) wideTable(n int) *wideTable {
	w := &wideTable{cost: map[string]bool{}, resp: map[string]bool{}, explicit: g.chance(2)}
	for _, m := range g.shuffled(rtModels)[:1+g.IntN(4)] {
		w.models = append(w.models, m)
		w.cost[m] = g.chance(2)
		w.resp[m] = g.chance(2)
	}
	w.idCol = g.pick([]string{"", "sample_id", "prompt_id"})
	w.taskCol = g.pick([]string{"", "eval_name", "task"})
	for _, k := range []string{"source", "oracle_model_to_route_to", "Unnamed: 0", "notes"} {
		if g.chance(2) {
			w.meta = append(w.meta, k)
		}
	}
	header := []string{"prompt"}
	for _, m := range w.models {
		header = append(header, m)
		if w.cost[m] {
			header = append(header, m+"|total_cost")
		}
		if w.resp[m] {
			header = append(header, m+g.pick([]string{"_response", "|model_response"}))
		}
	}
	for _, c := range []string{w.idCol, w.taskCol} {
		if c != "" {
			header = append(header, c)
		}
	}
	header = append(header, w.meta...)
	w.header = g.shuffled(header)
	// The models in header order: the order of a row's outcomes.
	isModel := map[string]bool{}
	for _, m := range w.models {
		isModel[m] = true
	}
	w.models = w.models[:0]
	for _, h := range w.header {
		if isModel[h] {
			w.models = append(w.models, h)
		}
	}
	for j := 0; j < n; j++ {
		w.prompts = append(w.prompts, g.text())
		id := ""
		if w.idCol != "" && !g.chance(5) {
			id = g.id()
		}
		w.ids = append(w.ids, id)
		task := ""
		if w.taskCol != "" && !g.chance(5) {
			task = g.pick(rtTasks)
		}
		w.tasks = append(w.tasks, task)
		sc, co, re, me := map[string]float64{}, map[string]float64{}, map[string]string{}, map[string]string{}
		for _, m := range w.models {
			if !g.chance(6) {
				sc[m] = g.score()
			}
			if c, ok := g.cost(); ok {
				co[m] = c
			}
			if !g.chance(5) {
				re[m] = g.text()
			}
		}
		if len(sc) == 0 {
			// A row without a single score is an error ("no scores"),
			// tested in read_test.go.
			sc[g.pick(w.models)] = g.score()
		}
		for _, k := range w.meta {
			if g.chance(4) {
				continue
			}
			if w.explicit || k == "Unnamed: 0" {
				// Anything goes, numbers too, when the models are named.
				me[k] = g.pick([]string{g.text(), strconv.Itoa(j), "0.5", "True"})
			} else {
				// A guessed table's metadata must not look like a score.
				me[k] = "src: " + g.text()
			}
		}
		w.scores, w.costs, w.resps, w.metas = append(w.scores, sc), append(w.costs, co), append(w.resps, re), append(w.metas, me)
	}
	return w
}

// want returns the outcomes a wide table must read as. Missing metadata,
// null in Parquet or "" in CSV, is left out of Meta.
func (w *wideTable) want(defaultTask string) []Outcome {
	var out []Outcome
	for j, prompt := range w.prompts {
		id := w.ids[j]
		if id == "" {
			id = PromptIDOf(prompt)
		}
		task := w.tasks[j]
		if task == "" {
			task = defaultTask
		}
		var meta map[string]string
		for _, k := range w.meta {
			v, ok := w.metas[j][k]
			if !ok {
				continue
			}
			if meta == nil {
				meta = map[string]string{}
			}
			meta[k] = v
		}
		for _, m := range w.models {
			s, ok := w.scores[j][m]
			if !ok {
				continue
			}
			o := Outcome{PromptID: id, Prompt: prompt, Model: m, Score: s, Task: task, Meta: meta}
			if w.cost[m] {
				o.Cost, o.HasCost = w.costs[j][m]
			}
			if w.resp[m] {
				o.Meta = map[string]string{"response": w.resps[j][m]}
				for k, v := range meta {
					o.Meta[k] = v
				}
			}
			out = append(out, o)
		}
	}
	return out
}

// missing returns the number of empty score cells of the model columns
// that hold a score somewhere (a guessed column never filled is no model).
func (w *wideTable) missing() int {
	n := 0
	for _, m := range w.models {
		empty, filled := 0, false
		for j := range w.prompts {
			if _, ok := w.scores[j][m]; ok {
				filled = true
			} else {
				empty++
			}
		}
		if filled {
			n += empty
		}
	}
	return n
}

// options names the models (explicit) or leaves them to the guess.
func (w *wideTable) options(g rtGen) Options {
	var opt Options
	if w.explicit {
		if g.chance(2) {
			opt.Models = append([]string(nil), w.models...)
		} else {
			var infos []ModelInfo
			for _, m := range w.models {
				c := 0.001
				infos = append(infos, ModelInfo{Name: m, CostPerQuery: &c})
			}
			cat, err := NewCatalog(infos)
			if err != nil {
				panic(err)
			}
			opt.Catalog = cat
		}
	}
	if g.chance(4) {
		opt.Task = "custom task"
	}
	return opt
}

// column returns which model and part a header column holds.
func (w *wideTable) column(h string) (model, part string) {
	for _, m := range w.models {
		switch h {
		case m:
			return m, "score"
		case m + "|total_cost":
			return m, "cost"
		case m + "_response", m + "|model_response":
			return m, "response"
		}
	}
	return "", h
}

func wideCSV(g rtGen, dir string, i int, t testing.TB) rtSource {
	w := g.wideTable(g.rows())
	var recs [][]string
	for j := range w.prompts {
		rec := make([]string, len(w.header))
		for k, h := range w.header {
			m, part := w.column(h)
			switch part {
			case "score":
				if s, ok := w.scores[j][m]; ok {
					rec[k] = g.scoreText(s)
				}
			case "cost":
				if c, ok := w.costs[j][m]; ok {
					rec[k] = ftoa(c)
				}
			case "response":
				rec[k] = w.resps[j][m]
			case "prompt":
				rec[k] = w.prompts[j]
			case w.idCol:
				rec[k] = w.ids[j]
			case w.taskCol:
				rec[k] = w.tasks[j]
			default:
				rec[k] = w.metas[j][part]
			}
		}
		recs = append(recs, rec)
	}
	stem := fmt.Sprintf("wide%02d", i)
	path := filepath.Join(dir, stem+".csv"+g.textExt())
	writeSource(t, path, g.csvBytes(w.header, recs))
	opt := w.options(g)
	task := opt.Task
	if task == "" {
		task = stem
	}
	return rtSource{path: path, opt: opt, want: Dataset{Outcomes: w.want(task)}, missing: w.missing()}
}

func wideParquet(g rtGen, dir string, i int, t testing.TB) rtSource {
	w := g.wideTable(g.rows())
	var cols []pqCol
	for _, h := range w.header {
		m, part := w.column(h)
		switch part {
		case "score":
			get := func(j int) (float64, bool) { s, ok := w.scores[j][m]; return s, ok }
			binary := true
			for j := range w.scores {
				if s, ok := get(j); ok && s != 0 && s != 1 {
					binary = false
				}
			}
			switch {
			case binary && g.chance(2):
				cols = append(cols, pqBool(h, func(j int) (bool, bool) { s, ok := get(j); return s == 1, ok }))
			case binary && g.chance(2):
				cols = append(cols, pqI64(h, func(j int) (int64, bool) { s, ok := get(j); return int64(s), ok }))
			default:
				cols = append(cols, pqF64(h, get))
			}
		case "cost":
			cols = append(cols, pqF64(h, func(j int) (float64, bool) { c, ok := w.costs[j][m]; return c, ok }))
		case "response":
			cols = append(cols, pqStr(h, func(j int) (string, bool) { r, ok := w.resps[j][m]; return r, ok }))
		case "prompt":
			cols = append(cols, pqStr(h, func(j int) (string, bool) { return w.prompts[j], true }))
		case w.idCol:
			cols = append(cols, pqStr(h, func(j int) (string, bool) { return w.ids[j], w.ids[j] != "" || g.chance(2) }))
		case w.taskCol:
			cols = append(cols, pqStr(h, func(j int) (string, bool) { return w.tasks[j], w.tasks[j] != "" || g.chance(2) }))
		default:
			cols = append(cols, pqStr(h, func(j int) (string, bool) { v, ok := w.metas[j][part]; return v, ok }))
		}
	}
	stem := fmt.Sprintf("wide%02d", i)
	path := filepath.Join(dir, stem+".parquet")
	g.writePQ(t, path, len(w.prompts), cols)
	opt := w.options(g)
	task := opt.Task
	if task == "" {
		task = stem
	}
	return rtSource{path: path, opt: opt, want: Dataset{Outcomes: w.want(task)}, missing: w.missing()}
}

// pyQuote writes a string as a Python literal.
func (g rtGen) pyQuote(s string) string {
	q := byte('\'')
	if g.chance(4) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r > 0x7f && g.chance(8) {
				if r > 0xffff {
					fmt.Fprintf(&b, `\U%08x`, r)
				} else {
					fmt.Fprintf(&b, `\u%04x`, r)
				}
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyScore writes a score as Python would print it.
func (g rtGen) pyScore(s float64) string {
	switch {
	case s == float64(int(s)) && g.chance(3):
		return strconv.Itoa(int(s))
	case s == float64(int(s)):
		return strconv.Itoa(int(s)) + ".0"
	}
	return ftoa(s)
}

func scoreMaps(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		promptField := g.pick([]string{"question", "query", "prompt"})
		taskField := g.pick([]string{"task", "task_name"})
		var opt Options
		if g.chance(4) {
			opt.Task = "dc"
		}
		var objs []map[string]any
		var want []Outcome
		missing := 0
		for j, n := 0, g.rows(); j < n; j++ {
			prompt := g.text()
			obj := map[string]any{promptField: prompt}
			id := PromptIDOf(prompt)
			if g.chance(4) {
				id = g.id()
				obj["prompt_id"] = id
			}
			task := opt.Task
			if g.chance(2) {
				task = g.pick(rtTasks[2:])
				obj[taskField] = task
			}
			var meta map[string]string
			switch g.IntN(3) {
			case 0:
				c := g.IntN(20)
				obj["cluster_id"] = c
				meta = map[string]string{"cluster_id": strconv.Itoa(c)}
			case 1:
				c := "c" + strconv.Itoa(g.IntN(20))
				obj["cluster_id"] = c
				meta = map[string]string{"cluster_id": c}
			}
			scores := map[string]any{}
			var py []string
			models := g.shuffled(rtModels)[:1+g.IntN(6)]
			for k, m := range models {
				if k > 0 && g.chance(8) { // a row needs a score
					missing++
					scores[m] = nil
					py = append(py, g.pyQuote(m)+": None")
					continue
				}
				s := g.score()
				scores[m] = s
				py = append(py, g.pyQuote(m)+": "+g.pyScore(s))
			}
			if g.chance(3) {
				obj["scores"] = "{" + strings.Join(py, ", ") + "}"
			} else {
				obj["scores"] = scores
			}
			sort.Strings(models)
			for _, m := range models {
				if s, ok := scores[m].(float64); ok {
					want = append(want, Outcome{PromptID: id, Prompt: prompt, Model: m, Score: s, Task: task, Meta: meta})
				}
			}
			objs = append(objs, obj)
		}
		var b []byte
		if container == "json" {
			b = g.jsonArray(objs)
		} else {
			b = g.jsonLines(objs)
		}
		path := filepath.Join(dir, fmt.Sprintf("scores%02d.%s%s", i, container, g.textExt()))
		writeSource(t, path, b)
		return rtSource{path: path, opt: opt, want: Dataset{Outcomes: want}, missing: missing}
	}
}

func performance(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		var objs []map[string]any
		var want []Outcome
		promptField := "query"
		if g.chance(4) {
			promptField = "prompt"
		}
		for j, n := 0, g.rows(); j < n; j++ {
			prompt := g.text()
			obj := map[string]any{promptField: prompt}
			task := g.pick(rtTasks)
			if task != "" || g.chance(2) {
				obj[g.pick([]string{"task_name", "task"})] = task
			}
			perf := map[string]any{}
			models := g.shuffled(rtModels)[:1+g.IntN(8)]
			sort.Strings(models)
			for _, m := range models {
				res := map[string]any{}
				o := Outcome{PromptID: PromptIDOf(prompt), Prompt: prompt, Model: m, Task: task}
				success := g.chance(2)
				switch g.IntN(3) {
				case 0: // success only, as a boolean
					res["success"] = success
					o.Score = map[bool]float64{false: 0, true: 1}[success]
				case 1: // task_performance wins over success
					res["success"] = success
					o.Score = g.score()
					res["task_performance"] = o.Score
				default:
					o.Score = g.score()
					res["task_performance"] = o.Score
				}
				for _, k := range []string{"response", "prompt_tokens", "completion_tokens"} {
					if g.chance(3) {
						if g.chance(4) {
							res[k] = nil
						}
						continue
					}
					if o.Meta == nil {
						o.Meta = map[string]string{}
					}
					if k == "response" {
						res[k] = g.text()
						o.Meta[k] = res[k].(string)
					} else {
						n := g.IntN(5000)
						res[k] = n
						o.Meta[k] = strconv.Itoa(n)
					}
				}
				perf[m] = res
				want = append(want, o)
			}
			if g.chance(5) {
				obj["model_performance"] = string(mustJSON(perf))
			} else {
				obj["model_performance"] = perf
			}
			objs = append(objs, obj)
		}
		var b []byte
		if container == "json" {
			b = g.jsonArray(objs)
		} else {
			b = g.jsonLines(objs)
		}
		path := filepath.Join(dir, fmt.Sprintf("perf%02d.%s%s", i, container, g.textExt()))
		writeSource(t, path, b)
		return rtSource{path: path, want: Dataset{Outcomes: want}}
	}
}

// arenaRow is one generated Chatbot Arena battle.
type arenaRow struct {
	b          Battle // expected
	qid        string
	anony      *bool
	turn       *int
	tstamp     bool // the time is given as tstamp
	convA      []turn
	convB      []turn
	withTask   bool
	noLanguage bool
}

func (g rtGen) conversation(users []string) []turn {
	var c []turn
	if g.chance(6) {
		c = append(c, turn{"system", "You are a helpful assistant."})
	}
	role := g.pick([]string{"user", "user", "human"})
	for _, u := range users {
		c = append(c, turn{role, u}, turn{"assistant", g.text()})
	}
	return c
}

func (g rtGen) arenaRows(n int, lastTurn bool) []arenaRow {
	winners := []Winner{WinnerA, WinnerB, Tie, TieBothBad}
	rows := make([]arenaRow, n)
	for j := range rows {
		var users []string
		for k, nu := 0, 1+g.IntN(3); k < nu; k++ {
			users = append(users, g.text())
		}
		r := arenaRow{convA: g.conversation(users), convB: g.conversation(users), tstamp: g.chance(3)}
		b := Battle{Prompt: users[0], ModelA: g.pick(rtModels), ModelB: g.pick(rtModels), Winner: winners[g.IntN(4)],
			Judge: g.pick(rtJudges), Language: g.pick(rtLanguages), Turn: len(users), Meta: map[string]string{}}
		if lastTurn {
			b.Prompt = users[len(users)-1]
		}
		b.PromptID = PromptIDOf(b.Prompt)
		if g.chance(4) {
			tn := g.IntN(6)
			r.turn, b.Turn = &tn, tn
		}
		if r.tstamp {
			b.Time = time.UnixMicro(1_680_000_000_000_000 + g.Int64N(100_000_000_000_000)).UTC()
		}
		if g.chance(3) {
			r.withTask = true
			b.Task = g.pick(rtTasks[2:])
		}
		if !g.chance(4) {
			r.qid = g.id()
			b.Meta["question_id"] = r.qid
		}
		if g.chance(2) {
			a := g.chance(2)
			r.anony = &a
			b.Meta["anony"] = strconv.FormatBool(a)
		}
		if len(b.Meta) == 0 {
			b.Meta = nil
		}
		r.b = b
		rows[j] = r
	}
	return rows
}

func convJSON(c []turn) []map[string]any {
	out := make([]map[string]any, len(c))
	for i, t := range c {
		out[i] = map[string]any{"role": t.Role, "content": t.Content}
	}
	return out
}

func battlesOf(rows []arenaRow) []Battle {
	out := make([]Battle, len(rows))
	for i, r := range rows {
		out[i] = r.b
	}
	return out
}

func arenaText(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		opt := Options{LastTurn: g.chance(3)}
		rows := g.arenaRows(g.rows(), opt.LastTurn)
		var objs []map[string]any
		for _, r := range rows {
			b := r.b
			o := map[string]any{"model_a": b.ModelA, "model_b": b.ModelB, "winner": string(b.Winner), "judge": b.Judge,
				"language": b.Language, "conversation_a": convJSON(r.convA), "conversation_b": convJSON(r.convB)}
			if r.qid != "" {
				o["question_id"] = r.qid
			}
			if r.anony != nil {
				o["anony"] = *r.anony
			}
			if r.turn != nil {
				o["turn"] = *r.turn
			}
			if r.tstamp {
				o["tstamp"] = float64(b.Time.UnixMicro()) / 1e6
			} else if g.chance(3) {
				o["tstamp"] = nil
			}
			if r.withTask {
				o["task"] = b.Task
			}
			objs = append(objs, o)
		}
		var b []byte
		if container == "json" {
			b = g.jsonArray(objs)
		} else {
			b = g.jsonLines(objs)
		}
		path := filepath.Join(dir, fmt.Sprintf("arena%02d.%s%s", i, container, g.textExt()))
		writeSource(t, path, b)
		return rtSource{path: path, opt: opt, want: Dataset{Battles: battlesOf(rows)}}
	}
}

func arenaParquet(g rtGen, dir string, i int, t testing.TB) rtSource {
	opt := Options{LastTurn: g.chance(3)}
	rows := g.arenaRows(g.rows(), opt.LastTurn)
	cols := []pqCol{
		pqStr("question_id", func(j int) (string, bool) { return rows[j].qid, rows[j].qid != "" }),
		pqStr("model_a", func(j int) (string, bool) { return rows[j].b.ModelA, true }),
		pqStr("model_b", func(j int) (string, bool) { return rows[j].b.ModelB, true }),
		pqDict("winner", func(j int) string { return string(rows[j].b.Winner) }),
		pqStr("judge", func(j int) (string, bool) { return rows[j].b.Judge, true }),
		pqConv("conversation_a", func(j int) []turn { return rows[j].convA }),
		pqConv("conversation_b", func(j int) []turn { return rows[j].convB }),
		pqI64("turn", func(j int) (int64, bool) {
			if rows[j].turn == nil {
				return 0, false
			}
			return int64(*rows[j].turn), true
		}),
		pqBool("anony", func(j int) (bool, bool) {
			if rows[j].anony == nil {
				return false, false
			}
			return *rows[j].anony, true
		}),
		pqStr("language", func(j int) (string, bool) { return rows[j].b.Language, true }),
		pqF64("tstamp", func(j int) (float64, bool) {
			return float64(rows[j].b.Time.UnixMicro()) / 1e6, rows[j].tstamp
		}),
	}
	if g.chance(2) {
		cols = append(cols, pqStr("task", func(j int) (string, bool) { return rows[j].b.Task, rows[j].withTask }))
	} else {
		for j := range rows {
			rows[j].b.Task = ""
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("arena%02d.parquet", i))
	g.writePQ(t, path, len(rows), cols)
	return rtSource{path: path, opt: opt, want: Dataset{Battles: battlesOf(rows)}}
}

// asciiJSON re-encodes non-ASCII characters of JSON text as \u escapes,
// as Python's json.dumps does by default.
func asciiJSON(b []byte) string {
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(&out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.String()
}

// arena55k writes the 55k file's layout as CSV or, as the Hugging Face
// conversion has it, Parquet (ids and one-hot winners as integers, an
// empty response null).
func arena55k(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		return arena55kFile(g, dir, i, t, container)
	}
}

func arena55kFile(g rtGen, dir string, i int, t testing.TB, container string) rtSource {
	opt := Options{LastTurn: g.chance(3)}
	header := []string{"id", "model_a", "model_b", "prompt", "response_a", "response_b", "winner_model_a", "winner_model_b", "winner_tie"}
	var recs [][]string
	var want []Battle
	ascii := g.chance(2)
	enc := func(v any) string {
		if ascii {
			return asciiJSON(mustJSON(v))
		}
		return string(mustJSON(v))
	}
	for j, n := 0, g.rows(); j < n; j++ {
		var users, ra, rb []string
		for k, nu := 0, 1+g.IntN(3); k < nu; k++ {
			users = append(users, g.text())
			ra = append(ra, g.text())
			rb = append(rb, g.text())
		}
		b := Battle{Prompt: users[0], ModelA: g.pick(rtModels), ModelB: g.pick(rtModels), Turn: len(users)}
		if opt.LastTurn {
			b.Prompt = users[len(users)-1]
		}
		b.PromptID = PromptIDOf(b.Prompt)
		id := strconv.Itoa(30192 + g.IntN(1_000_000_000))
		respA, respB := enc(ra), enc(rb)
		if g.chance(5) {
			respB = ""
		}
		b.Meta = map[string]string{"id": id, "response_a": respA}
		if respB != "" {
			b.Meta["response_b"] = respB
		}
		hot := []string{"0", "0", "0"}
		k := g.IntN(3)
		hot[k] = "1"
		b.Winner = []Winner{WinnerA, WinnerB, Tie}[k]
		recs = append(recs, []string{id, b.ModelA, b.ModelB, enc(users), respA, respB, hot[0], hot[1], hot[2]})
		want = append(want, b)
	}
	if container == "parquet" {
		var cols []pqCol
		for k, h := range header {
			switch h {
			case "id", "winner_model_a", "winner_model_b", "winner_tie":
				cols = append(cols, pqI64(h, func(j int) (int64, bool) {
					v, err := strconv.ParseInt(recs[j][k], 10, 64)
					if err != nil {
						panic(err)
					}
					return v, true
				}))
			default:
				cols = append(cols, pqStr(h, func(j int) (string, bool) { return recs[j][k], recs[j][k] != "" }))
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("arena55k%02d.parquet", i))
		g.writePQ(t, path, len(recs), cols)
		return rtSource{path: path, opt: opt, want: Dataset{Battles: want}}
	}
	path := filepath.Join(dir, fmt.Sprintf("arena55k%02d.csv%s", i, g.textExt()))
	writeSource(t, path, g.csvBytes(header, recs))
	return rtSource{path: path, opt: opt, want: Dataset{Battles: want}}
}

// pairRow is a generic pair: the expected battle and how tie is written.
type pairRow struct {
	b      Battle
	omitID bool
	tie    string // "" = absent
}

func (g rtGen) pairRows(n int) []pairRow {
	rows := make([]pairRow, n)
	for j := range rows {
		b := Battle{Prompt: g.text(), ModelA: g.pick(rtModels), ModelB: g.pick(rtModels), Winner: WinnerA, Task: g.pick(rtTasks), Time: g.when()}
		r := pairRow{omitID: g.chance(2)}
		if r.omitID {
			b.PromptID = PromptIDOf(b.Prompt)
		} else {
			b.PromptID = g.id()
		}
		switch g.IntN(3) {
		case 0:
			b.Winner = Tie
			r.tie = g.pick([]string{"True", "true", "1"})
		case 1:
			r.tie = g.pick([]string{"False", "false", "0", ""})
		}
		r.b = b
		rows[j] = r
	}
	return rows
}

func pairsCSV(g rtGen, dir string, i int, t testing.TB) rtSource {
	rows := g.pairRows(g.rows())
	header := g.shuffled([]string{"prompt", "winner", "loser", "tie", "prompt_id", "task", "timestamp"})
	var recs [][]string
	var want []Battle
	for _, r := range rows {
		rec := make([]string, len(header))
		for k, h := range header {
			switch h {
			case "prompt":
				rec[k] = r.b.Prompt
			case "winner":
				rec[k] = r.b.ModelA
			case "loser":
				rec[k] = r.b.ModelB
			case "tie":
				rec[k] = r.tie
			case "prompt_id":
				if !r.omitID {
					rec[k] = r.b.PromptID
				}
			case "task":
				rec[k] = r.b.Task
			case "timestamp":
				if !r.b.Time.IsZero() {
					rec[k] = g.timeText(r.b.Time)
				}
			}
		}
		recs = append(recs, rec)
		want = append(want, r.b)
	}
	path := filepath.Join(dir, fmt.Sprintf("pairs%02d.csv%s", i, g.textExt()))
	writeSource(t, path, g.csvBytes(header, recs))
	return rtSource{path: path, want: Dataset{Battles: want}}
}

// pairsText writes generic pairs as JSON Lines or a JSON array.
func pairsText(container string) rtMaker {
	return func(g rtGen, dir string, i int, t testing.TB) rtSource {
		return pairsJSON(g, dir, i, t, container)
	}
}

func pairsJSON(g rtGen, dir string, i int, t testing.TB, container string) rtSource {
	rows := g.pairRows(g.rows())
	var objs []map[string]any
	var want []Battle
	for _, r := range rows {
		o := map[string]any{"prompt": r.b.Prompt, "winner": r.b.ModelA, "loser": r.b.ModelB}
		switch r.tie {
		case "":
			if g.chance(2) {
				o["tie"] = nil
			}
		case "True", "true", "1":
			o["tie"] = []any{true, 1, "True"}[g.IntN(3)]
		default:
			o["tie"] = []any{false, 0, "false"}[g.IntN(3)]
		}
		if !r.omitID {
			o["prompt_id"] = r.b.PromptID
		}
		if r.b.Task != "" {
			o["task"] = r.b.Task
		}
		if !r.b.Time.IsZero() {
			o["timestamp"] = g.timeJSON(r.b.Time)
		}
		objs = append(objs, o)
		want = append(want, r.b)
	}
	path := filepath.Join(dir, fmt.Sprintf("pairs%02d.%s%s", i, container, g.textExt()))
	if container == "json" {
		writeSource(t, path, g.jsonArray(objs))
	} else {
		writeSource(t, path, g.jsonLines(objs))
	}
	return rtSource{path: path, want: Dataset{Battles: want}}
}

// pairsParquet writes generic pairs as Parquet: tie a nullable boolean,
// an absent prompt id, task or time null.
func pairsParquet(g rtGen, dir string, i int, t testing.TB) rtSource {
	rows := g.pairRows(g.rows())
	var want []Battle
	for _, r := range rows {
		want = append(want, r.b)
	}
	cols := []pqCol{
		pqStr("prompt", func(j int) (string, bool) { return rows[j].b.Prompt, true }),
		pqStr("winner", func(j int) (string, bool) { return rows[j].b.ModelA, true }),
		pqStr("loser", func(j int) (string, bool) { return rows[j].b.ModelB, true }),
		pqBool("tie", func(j int) (bool, bool) { return rows[j].b.Winner == Tie, rows[j].tie != "" }),
		pqStr("prompt_id", func(j int) (string, bool) { return rows[j].b.PromptID, !rows[j].omitID }),
		pqStr("task", func(j int) (string, bool) { return rows[j].b.Task, rows[j].b.Task != "" || g.chance(2) }),
		pqTime("timestamp", func(j int) time.Time { return rows[j].b.Time }),
	}
	g.Shuffle(len(cols), func(a, b int) { cols[a], cols[b] = cols[b], cols[a] })
	path := filepath.Join(dir, fmt.Sprintf("pairs%02d.parquet", i))
	g.writePQ(t, path, len(rows), cols)
	return rtSource{path: path, want: Dataset{Battles: want}}
}

// fbRow is a generated feedback row: the expected record and which of
// prompt and prompt_id the source gives.
type fbRow struct {
	f               Feedback
	prompt, givenID bool
	signalText      bool // a score signal written as text
}

func (g rtGen) feedbackRows(n int, scoresOnly bool) []fbRow {
	rows := make([]fbRow, n)
	for j := range rows {
		f := Feedback{RequestID: fmt.Sprintf("req-%08x", g.Uint32()), Time: g.when(), Model: g.pick(rtModels),
			RouterVersion: g.pick([]string{"", "v1", "mf-2026.01.3"})}
		r := fbRow{}
		switch g.IntN(3) {
		case 0:
			r.prompt = true
		case 1:
			r.givenID = true
		default:
			r.prompt, r.givenID = true, true
		}
		if r.prompt {
			f.Prompt = g.text()
			f.PromptID = PromptIDOf(f.Prompt)
		}
		if r.givenID {
			f.PromptID = g.id()
		}
		if scoresOnly || g.chance(3) {
			f.Score, f.HasScore = g.score(), true
			r.signalText = g.chance(3)
		} else {
			f.Signal = g.pick(rtSignals)
		}
		f.Cost, f.HasCost = g.cost()
		if !g.chance(3) {
			f.LatencyMS, f.HasLatency = float64(g.IntN(20000)), true
			if g.chance(2) {
				f.LatencyMS += 0.25
			}
		}
		r.f = f
		rows[j] = r
	}
	return rows
}

func feedbackOf(rows []fbRow) []Feedback {
	out := make([]Feedback, len(rows))
	for i, r := range rows {
		out[i] = r.f
	}
	return out
}

func feedbackJSONL(g rtGen, dir string, i int, t testing.TB) rtSource {
	rows := g.feedbackRows(g.rows(), false)
	var objs []map[string]any
	for _, r := range rows {
		f := r.f
		o := map[string]any{"request_id": f.RequestID, "model": f.Model}
		if !f.Time.IsZero() {
			o["timestamp"] = g.timeJSON(f.Time)
		}
		if r.prompt {
			o["prompt"] = f.Prompt
		} else if g.chance(3) {
			o["prompt"] = nil
		}
		if r.givenID {
			o["prompt_id"] = f.PromptID
		}
		if f.RouterVersion != "" || g.chance(2) {
			o["router_version"] = f.RouterVersion
		}
		switch {
		case !f.HasScore:
			o["signal"] = f.Signal
		case r.signalText:
			o["signal"] = ftoa(f.Score)
		default:
			o["signal"] = f.Score
		}
		if f.HasCost {
			o["cost"] = f.Cost
		}
		if f.HasLatency {
			o["latency_ms"] = f.LatencyMS
		} else if g.chance(3) {
			o["latency_ms"] = nil
		}
		objs = append(objs, o)
	}
	path := filepath.Join(dir, fmt.Sprintf("feedback%02d.jsonl%s", i, g.textExt()))
	writeSource(t, path, g.jsonLines(objs))
	return rtSource{path: path, want: Dataset{Feedback: feedbackOf(rows)}}
}

func feedbackParquet(g rtGen, dir string, i int, t testing.TB) rtSource {
	scoresOnly := g.chance(3)
	rows := g.feedbackRows(g.rows(), scoresOnly)
	signal := pqStr("signal", func(j int) (string, bool) {
		if rows[j].f.HasScore {
			return ftoa(rows[j].f.Score), true
		}
		return rows[j].f.Signal, true
	})
	if scoresOnly {
		signal = pqF64("signal", func(j int) (float64, bool) { return rows[j].f.Score, true })
	}
	ts := pqTime("timestamp", func(j int) time.Time { return rows[j].f.Time })
	if g.chance(3) {
		ts = pqStr("timestamp", func(j int) (string, bool) {
			return g.timeText(rows[j].f.Time), !rows[j].f.Time.IsZero()
		})
	}
	cols := []pqCol{
		pqStr("request_id", func(j int) (string, bool) { return rows[j].f.RequestID, true }),
		ts,
		pqStr("prompt", func(j int) (string, bool) { return rows[j].f.Prompt, rows[j].prompt }),
		pqStr("prompt_id", func(j int) (string, bool) { return rows[j].f.PromptID, rows[j].givenID }),
		pqDict("model", func(j int) string { return rows[j].f.Model }),
		pqStr("router_version", func(j int) (string, bool) { return rows[j].f.RouterVersion, rows[j].f.RouterVersion != "" }),
		signal,
		pqF64("cost", func(j int) (float64, bool) { return rows[j].f.Cost, rows[j].f.HasCost }),
		pqF64("latency_ms", func(j int) (float64, bool) { return rows[j].f.LatencyMS, rows[j].f.HasLatency }),
	}
	path := filepath.Join(dir, fmt.Sprintf("feedback%02d.parquet", i))
	g.writePQ(t, path, len(rows), cols)
	return rtSource{path: path, want: Dataset{Feedback: feedbackOf(rows)}}
}

func decisionsJSONL(g rtGen, dir string, i int, t testing.TB) rtSource {
	var objs []map[string]any
	var want []Decision
	for j, n := 0, g.rows(); j < n; j++ {
		d := Decision{RequestID: fmt.Sprintf("req-%08x", g.Uint32()), Time: g.when(), ChosenModel: g.pick(rtModels),
			Router: g.pick([]string{"", "mf", "bert"}), RouterVersion: g.pick([]string{"", "v2"})}
		o := map[string]any{"request_id": d.RequestID, "chosen_model": d.ChosenModel}
		if !d.Time.IsZero() {
			o["timestamp"] = g.timeJSON(d.Time)
		}
		if g.chance(2) {
			d.Prompt = g.text()
			d.PromptHash = PromptIDOf(d.Prompt)
			o["prompt"], o["prompt_hash"] = d.Prompt, d.PromptHash
		}
		if d.Router != "" {
			o["router"] = d.Router
		}
		if d.RouterVersion != "" {
			o["router_version"] = d.RouterVersion
		}
		if !g.chance(4) {
			d.Scores = map[string]float64{}
			for _, m := range g.shuffled(rtModels)[:1+g.IntN(4)] {
				d.Scores[m] = g.Float64()
			}
			o["scores"] = d.Scores
		} else if g.chance(3) {
			o["scores"] = map[string]any{} // no scores: nil
		}
		switch g.IntN(3) {
		case 0:
			p := map[string]any{"name": "threshold", "t": g.Float64(), "fallback": g.pick(rtModels)}
			o["policy"] = p
			d.Policy = string(mustJSON(p))
		case 1:
			d.Policy = g.pick([]string{"greedy", "cost-aware, λ=0.3"})
			o["policy"] = d.Policy
		}
		if !g.chance(4) {
			d.LatencyUS = float64(g.IntN(100000))
			o["latency_us"] = d.LatencyUS
		}
		objs = append(objs, o)
		want = append(want, d)
	}
	path := filepath.Join(dir, fmt.Sprintf("decisions%02d.jsonl%s", i, g.textExt()))
	writeSource(t, path, g.jsonLines(objs))
	return rtSource{path: path, want: Dataset{Decisions: want}}
}

// rtCases are every layout in every container of formats.md.
var rtCases = []struct {
	name string
	make rtMaker
}{
	{"outcomes/jsonl", outcomesText("jsonl")},
	{"outcomes/json", outcomesText("json")},
	{"outcomes/csv", outcomesCSV},
	{"outcomes/parquet", outcomesParquet},
	{"wide/csv", wideCSV},
	{"wide/parquet", wideParquet},
	{"scores/json", scoreMaps("json")},
	{"scores/jsonl", scoreMaps("jsonl")},
	{"performance/json", performance("json")},
	{"performance/jsonl", performance("jsonl")},
	{"arena/json", arenaText("json")},
	{"arena/jsonl", arenaText("jsonl")},
	{"arena/parquet", arenaParquet},
	{"arena55k/csv", arena55k("csv")},
	{"arena55k/parquet", arena55k("parquet")},
	{"pairs/csv", pairsCSV},
	{"pairs/json", pairsText("json")},
	{"pairs/jsonl", pairsText("jsonl")},
	{"pairs/parquet", pairsParquet},
	{"feedback/jsonl", feedbackJSONL},
	{"feedback/parquet", feedbackParquet},
	{"decisions/jsonl", decisionsJSONL},
}

func TestRoundTrip(t *testing.T) {
	for _, c := range rtCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newRTGen(c.name)
			dir := t.TempDir()
			var all Dataset // R of every file, in order
			for i := 0; i < rtFiles; i++ {
				src := c.make(g, dir, i, t)
				got, rep, err := ReadFiles(context.Background(), []string{src.path}, src.opt)
				if err != nil {
					t.Fatalf("reading %s: %v\n%s", filepath.Base(src.path), err, sourceExcerpt(src.path))
				}
				if d := cmp.Diff(&src.want, got); d != "" {
					t.Fatalf("%s: read != ground truth (-want +got):\n%s\n%s", filepath.Base(src.path), d, sourceExcerpt(src.path))
				}
				if rep.TotalSkipped() != 0 {
					t.Fatalf("%s: skipped %v", filepath.Base(src.path), rep.Skipped)
				}
				if rep.Missing != src.missing {
					t.Fatalf("%s: %d missing scores, want %d\n%s", filepath.Base(src.path), rep.Missing, src.missing, sourceExcerpt(src.path))
				}
				all.Outcomes = append(all.Outcomes, got.Outcomes...)
				all.Battles = append(all.Battles, got.Battles...)
				all.Feedback = append(all.Feedback, got.Feedback...)
				all.Decisions = append(all.Decisions, got.Decisions...)
			}
			// R2 == R through each canonical container, for the records of
			// all the files at once (one write per container keeps the test
			// fast; the property is the same).
			canonicalRoundTrip(t, dir, "all", &all)
		})
	}
}

// canonicalRoundTrip writes each kind of record of ds with Create in
// every container that kind can be written in, reads it back and checks
// that it reads as ds exactly.
func canonicalRoundTrip(t *testing.T, dir, tag string, ds *Dataset) {
	t.Helper()
	type part struct {
		kind Kind
		n    int
		only Dataset
	}
	parts := []part{
		{KindOutcome, len(ds.Outcomes), Dataset{Outcomes: ds.Outcomes}},
		{KindBattle, len(ds.Battles), Dataset{Battles: ds.Battles}},
		{KindFeedback, len(ds.Feedback), Dataset{Feedback: ds.Feedback}},
		{KindDecision, len(ds.Decisions), Dataset{Decisions: ds.Decisions}},
	}
	for _, p := range parts {
		if p.n == 0 {
			continue
		}
		names := []string{".parquet", ".jsonl", ".csv", ".jsonl.gz", ".csv.zst"}
		if p.kind == KindDecision {
			names = []string{".jsonl", ".jsonl.zst"}
		}
		for _, ext := range names {
			path := filepath.Join(dir, fmt.Sprintf("canonical-%s-%s%s", tag, p.kind, ext))
			w, err := Create(path, "", p.kind)
			if err != nil {
				t.Fatal(err)
			}
			if err := writeAll(w, &p.only); err != nil {
				t.Fatalf("writing %s: %v", ext, err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, _, err := ReadFiles(context.Background(), []string{path}, Options{})
			if err != nil {
				t.Fatalf("reading back canonical %s: %v\n%s", ext, err, sourceExcerpt(path))
			}
			if d := cmp.Diff(&p.only, got); d != "" {
				t.Fatalf("canonical %s %s: R2 != R (-R +R2):\n%s", p.kind, ext, d)
			}
		}
	}
}

func writeAll(w *Writer, ds *Dataset) error {
	for i := range ds.Outcomes {
		if err := w.WriteOutcome(&ds.Outcomes[i]); err != nil {
			return err
		}
	}
	for i := range ds.Battles {
		if err := w.WriteBattle(&ds.Battles[i]); err != nil {
			return err
		}
	}
	for i := range ds.Feedback {
		if err := w.WriteFeedback(&ds.Feedback[i]); err != nil {
			return err
		}
	}
	for i := range ds.Decisions {
		if err := w.WriteDecision(&ds.Decisions[i]); err != nil {
			return err
		}
	}
	return nil
}

// sourceExcerpt shows the start of a text source for failure messages.
func sourceExcerpt(path string) string {
	if strings.HasSuffix(path, ".parquet") {
		return "(parquet)"
	}
	rc, err := openText(path)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	b := make([]byte, 3000)
	n, _ := io.ReadFull(rc, b)
	s := string(b[:n])
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return "--- source ---\n" + s
}
