package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/routekit/routekit/cmd/routekit/internal/progress"
	"github.com/routekit/routekit/data"
)

func dataCommand() *command {
	return &command{
		name:  "data",
		short: "import, inspect and split router data",
		subs:  []*command{dataImportCommand(), dataStatsCommand(), dataSplitCommand(), dataSynthCommand(), dataMTBenchCommand()},
	}
}

// readFlags are the flags of every command that reads data files.
type readFlags struct {
	in          listFlag
	format      string
	layout      string
	catalog     string
	models      listFlag
	task        string
	lastTurn    bool
	skipInvalid bool
	exclude     listFlag
	tasks       string
	dedup       bool
}

func (r *readFlags) register(fs *flag.FlagSet) {
	r.models.comma = true
	fs.Var(&r.in, "in", "input `file` (repeatable; positional arguments are inputs too)")
	fs.StringVar(&r.format, "format", "", "input format: jsonl, json, csv or parquet (default: from the extension)")
	fs.StringVar(&r.layout, "layout", "", "input layout: "+layoutNames()+" (default: from the fields)")
	fs.StringVar(&r.catalog, "catalog", "", "model catalog `file` (YAML or JSON): names wide-table model columns, fills missing costs")
	fs.Var(&r.models, "models", "comma-separated model columns of a wide table (default: the catalog's, else columns holding scores)")
	fs.StringVar(&r.task, "task", "", "task label for records without one (default for wide tables: the file name)")
	fs.BoolVar(&r.lastTurn, "last-turn", false, "take the last user turn of a conversation as the prompt (default: the first)")
	fs.BoolVar(&r.skipInvalid, "skip-invalid", false, "skip bad rows, counting and reporting them, instead of stopping at the first")
	fs.Var(&r.exclude, "exclude", "`file` of prompts to drop, such as contaminated_prompts.jsonl (repeatable)")
	fs.StringVar(&r.tasks, "tasks", "", "`file` labelling prompts with tasks (query or prompt, and task_name or task), for sources without tasks")
	fs.BoolVar(&r.dedup, "dedup", true, "merge prompts of equal normalised text and drop repeated (prompt, model) outcomes")
}

func layoutNames() string {
	names := make([]string, len(data.Layouts))
	for i, l := range data.Layouts {
		names[i] = string(l)
	}
	return strings.Join(names, ", ")
}

// options builds the reader options; inputs are the --in files and args.
func (r *readFlags) options(ctx context.Context, args []string) (data.Options, []string, *data.Catalog, error) {
	var opt data.Options
	var inputs []string
	for _, in := range append(append([]string(nil), r.in.values...), args...) {
		// A quoted pattern ('mmlu/*.csv') is expanded here; a file whose
		// name holds pattern characters is taken as it is.
		if _, err := os.Stat(in); err != nil && strings.ContainsAny(in, "*?[") {
			matches, gerr := filepath.Glob(in)
			if gerr != nil {
				return opt, nil, nil, usagef("input pattern %q: %v", in, gerr)
			}
			if len(matches) == 0 {
				return opt, nil, nil, fmt.Errorf("input pattern %q matches no file", in)
			}
			inputs = append(inputs, matches...)
			continue
		}
		inputs = append(inputs, in)
	}
	if len(inputs) == 0 {
		return opt, nil, nil, usagef("no input files: give --in FILE or FILE arguments")
	}
	if r.format != "" {
		c, err := data.ParseContainer(r.format)
		if err != nil {
			return opt, nil, nil, usagef("--format: %v", err)
		}
		opt.Container = c
	}
	if r.layout != "" {
		l, err := data.ParseLayout(r.layout)
		if err != nil {
			return opt, nil, nil, usagef("--layout: %v", err)
		}
		opt.Layout = l
	}
	var cat *data.Catalog
	if r.catalog != "" {
		var err error
		if cat, err = data.LoadCatalog(r.catalog); err != nil {
			return opt, nil, nil, err
		}
		opt.Catalog = cat
	}
	if r.tasks != "" {
		tm, err := data.LoadTaskMap(ctx, r.tasks)
		if err != nil {
			return opt, nil, nil, err
		}
		opt.Tasks = tm
	}
	opt.Models = r.models.values
	opt.Task = r.task
	opt.LastTurn = r.lastTurn
	opt.SkipInvalid = r.skipInvalid
	opt.Dedup = r.dedup
	if len(r.exclude.values) > 0 {
		set := data.NewPromptSet()
		for _, p := range r.exclude.values {
			s, err := data.LoadPromptSet(p)
			if err != nil {
				return opt, nil, nil, err
			}
			for _, q := range s.Prompts() {
				set.Add(q)
			}
		}
		opt.Exclude = set
	}
	return opt, inputs, cat, nil
}

// readAll reads inputs through h with a progress bar per file on a
// terminal. A missing or unpriced model met while filling costs is bad
// data: it comes back as a *data.ParseError naming the file and line.
func readAll(ctx context.Context, e *env, opt data.Options, inputs []string, h data.Handler) (*data.Report, error) {
	bars := &fileBars{
		newBar: func(label string, total int64, unit string) bar {
			return progress.New(e.stderr, label, total, unit)
		},
		unit: func(file string) string { return progressUnit(opt.Container, file) },
	}
	defer bars.done()
	opt.Progress = bars.report
	rd := data.NewReader(opt)
	for _, in := range inputs {
		if err := rd.Read(ctx, in, h); err != nil {
			return rd.Report(), asDataError(in, err)
		}
		e.log.Debug("read file", "file", in)
	}
	return rd.Report(), nil
}

// bar is a progress bar: *progress.Bar, or a fake in tests.
type bar interface {
	Update(done int64)
	Done()
}

// fileBars shows one progress bar per input file. A bar starts at the
// file's first progress report, which comes when the file is opened, so
// the bar knows its total from the start (the bytes of a text file as
// stored, compressed or not, or the rows of a Parquet file) and its rate
// and ETA count from the opening. Safe for concurrent use.
type fileBars struct {
	newBar func(label string, total int64, unit string) bar
	unit   func(file string) string

	mu   sync.Mutex // guards the fields below
	file string
	last int64
	cur  bar
}

// report is a data.Options.Progress hook.
func (f *fileBars) report(file string, done, total int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A new file, or the same file read again.
	if f.cur == nil || file != f.file || done < f.last {
		if f.cur != nil {
			f.cur.Done()
		}
		f.cur, f.file = f.newBar(filepath.Base(file), total, f.unit(file)), file
	}
	f.last = done
	f.cur.Update(done)
}

// done clears the last bar.
func (f *fileBars) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cur != nil {
		f.cur.Done()
		f.cur = nil
	}
}

// progressUnit is the unit of a file's progress reports: rows for
// Parquet, bytes for text.
func progressUnit(c data.Container, file string) string {
	if c == "" {
		c, _ = data.ContainerOf(file)
	}
	if c == data.Parquet {
		return "rows"
	}
	return "B"
}

// costError is a failure to price an outcome from the catalog.
type costError struct{ err error }

func (e *costError) Error() string { return "cost: " + e.err.Error() }
func (e *costError) Unwrap() error { return e.err }

// asDataError turns a costError from reading file into a *data.ParseError
// at the line the reader named ("file:line: cost: ..."), so the command
// exits with the bad-data status; other errors pass unchanged.
func asDataError(file string, err error) error {
	var ce *costError
	if !errors.As(err, &ce) {
		return err
	}
	line := 0
	if rest, ok := strings.CutPrefix(err.Error(), file+":"); ok {
		if n, _, ok := strings.Cut(rest, ":"); ok {
			line, _ = strconv.Atoi(n)
		}
	}
	return &data.ParseError{File: file, Line: line, Field: "cost", Err: ce.err}
}

// printReport says what was read.
func printReport(w io.Writer, rep *data.Report) {
	for _, f := range rep.Files {
		extra := ""
		if len(f.Models) > 0 {
			extra = fmt.Sprintf(", model columns %s", strings.Join(f.Models, ", "))
		}
		fmt.Fprintf(w, "  %s: %s %s, %d rows, %d records%s\n", f.File, f.Container, f.Layout, f.Rows, f.Records, extra)
	}
	var parts []string
	for _, k := range []struct {
		n    int
		name string
	}{{rep.Outcomes, "outcomes"}, {rep.Battles, "battles"}, {rep.Feedback, "feedback rows"}, {rep.Decisions, "decisions"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no records")
	}
	fmt.Fprintf(w, "read %d rows from %d files: %s, %d prompts, %d models\n", rep.Rows, len(rep.Files), strings.Join(parts, ", "), rep.Prompts(), len(rep.Models()))
	if rep.Missing > 0 {
		fmt.Fprintf(w, "%d empty score cells (no answer; not records)\n", rep.Missing)
	}
	if n := rep.TotalSkipped(); n > 0 {
		reasons := make([]string, 0, len(rep.Skipped))
		for r, c := range rep.Skipped {
			reasons = append(reasons, fmt.Sprintf("%s: %d", r, c))
		}
		sort.Strings(reasons)
		fmt.Fprintf(w, "skipped %d (%s)\n", n, strings.Join(reasons, ", "))
		for _, ex := range rep.Examples {
			fmt.Fprintf(w, "  %s\n", ex)
		}
	}
}

// lazyWriter creates its output on the first record, of whatever kind the
// inputs hold, and refuses a second kind.
type lazyWriter struct {
	path      string
	container data.Container
	w         *data.Writer
	// fill, when set, gives outcomes without a cost the catalog's.
	fill *data.Catalog
}

func (l *lazyWriter) get(k data.Kind) (*data.Writer, error) {
	if l.w == nil {
		w, err := data.Create(l.path, l.container, k)
		if err != nil {
			return nil, err
		}
		l.w = w
	}
	if l.w.Kind() != k {
		return nil, fmt.Errorf("%w: the inputs hold both %s and %s; import them into separate files", data.ErrUnexpectedKind, l.w.Kind(), k)
	}
	return l.w, nil
}

func (l *lazyWriter) handler() data.Handler {
	return data.Handler{
		Outcome: func(o *data.Outcome) error {
			w, err := l.get(data.KindOutcome)
			if err != nil {
				return err
			}
			if err := fillCost(l.fill, o); err != nil {
				return err
			}
			return w.WriteOutcome(o)
		},
		Battle: func(b *data.Battle) error {
			w, err := l.get(data.KindBattle)
			if err != nil {
				return err
			}
			return w.WriteBattle(b)
		},
		Feedback: func(f *data.Feedback) error {
			w, err := l.get(data.KindFeedback)
			if err != nil {
				return err
			}
			return w.WriteFeedback(f)
		},
	}
}

func (l *lazyWriter) finish(err error) error {
	if l.w == nil {
		return err
	}
	if err != nil {
		l.w.Abort()
		return err
	}
	return l.w.Close()
}

func dataImportCommand() *command {
	return &command{
		name:  "import",
		usage: "--in FILE... [--format F] [--layout L] [--catalog C] --out FILE.parquet",
		short: "normalise any known layout into canonical outcomes or battles",
		long: `Reads outcomes, wide tables, score maps, RouteProfile records, Chatbot Arena
battles (conversations, the 55k CSV, generic pairs) and feedback logs, and
writes the canonical records (Parquet, JSONL or CSV by the --out extension).
With --catalog, outcomes without a cost get the catalog's price. The output
appears only when the whole import succeeds.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			out := fs.String("out", "", "output `file` (.parquet, .jsonl or .csv)")
			outFormat := fs.String("out-format", "", "output format (default: from the --out extension)")
			fillCost := fs.Bool("fill-cost", true, "with --catalog, give outcomes without a cost the catalog's price")
			asJSON := fs.Bool("json", false, "print the report as JSON")
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, cat, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				if *out == "" {
					return usagef("--out is required")
				}
				lw := &lazyWriter{path: *out}
				if *outFormat != "" {
					if lw.container, err = data.ParseContainer(*outFormat); err != nil {
						return usagef("--out-format: %v", err)
					}
				} else if _, err := data.ContainerOf(*out); err != nil {
					// Checked before reading, not blamed on the input.
					return usagef("--out %s: cannot tell the output format from the extension (want .parquet, .jsonl or .csv; .jsonl and .csv may end in .gz or .zst); or give --out-format", *out)
				}
				if cat != nil && *fillCost {
					lw.fill = cat
				}
				rep, err := readAll(ctx, e, opt, inputs, lw.handler())
				if err = lw.finish(err); err != nil {
					return err
				}
				if lw.w == nil {
					return fmt.Errorf("no records in %s: nothing written", strings.Join(inputs, ", "))
				}
				e.log.Info("imported", "out", *out, "records", lw.w.Count(), "skipped", rep.TotalSkipped())
				if *asJSON {
					return writeJSON(e.stdout, reportJSON(rep, *out))
				}
				printReport(e.stdout, rep)
				fmt.Fprintf(e.stdout, "wrote %d %s to %s\n", lw.w.Count(), lw.w.Kind(), *out)
				return nil
			}
		},
	}
}

func reportJSON(rep *data.Report, out string) map[string]any {
	m := map[string]any{
		"files": rep.Files, "rows": rep.Rows, "outcomes": rep.Outcomes, "battles": rep.Battles,
		"feedback": rep.Feedback, "decisions": rep.Decisions, "prompts": rep.Prompts(), "models": rep.Models(),
		"skipped": rep.Skipped, "skipped_examples": rep.Examples, "missing": rep.Missing,
	}
	if out != "" {
		m["out"] = out
	}
	return m
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func dataStatsCommand() *command {
	return &command{
		name:  "stats",
		usage: "[flags] FILE...",
		short: "per-model answers, mean score, mean cost, coverage; prompts per task",
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, cat, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				st := data.NewStats()
				h := st.Handler()
				if cat != nil {
					h.Outcome = func(o *data.Outcome) error {
						if err := fillCost(cat, o); err != nil {
							return err
						}
						return st.AddOutcome(o)
					}
				}
				rep, err := readAll(ctx, e, opt, inputs, h)
				if err != nil {
					return err
				}
				sum := st.Summary()
				if *asJSON {
					return writeJSON(e.stdout, map[string]any{"read": reportJSON(rep, ""), "summary": sum})
				}
				printReport(e.stdout, rep)
				printSummary(e.stdout, sum)
				return nil
			}
		},
	}
}

func printSummary(w io.Writer, s *data.Summary) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if s.Outcomes > 0 {
		fmt.Fprintf(tw, "model\tanswers\tmean score\tmean cost\tcoverage\t\n")
		for _, m := range s.Models {
			if m.Answers == 0 {
				continue
			}
			cost := "-"
			if m.CostKnown > 0 {
				cost = fmt.Sprintf("$%.6f", m.MeanCost)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.4f\t%s\t%.1f%%\t\n", m.Model, m.Answers, m.MeanScore, cost, 100*m.Coverage)
		}
		tw.Flush()
	}
	if s.Battles > 0 {
		if s.Outcomes > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(tw, "model\tbattles\twins\tlosses\tties\twin rate\t\n")
		for _, m := range s.Models {
			if m.Battles == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.3f\t\n", m.Model, m.Battles, m.Wins, m.Losses, m.Ties, m.WinRate)
		}
		tw.Flush()
	}
	if s.Decisions > 0 {
		fmt.Fprintf(w, "\n%d decisions, mean routing latency %.0f us; by router@version:", s.Decisions, s.MeanLatencyUS)
		for _, r := range slices.Sorted(maps.Keys(s.Routers)) {
			fmt.Fprintf(w, " %s %d", r, s.Routers[r])
		}
		fmt.Fprintln(w)
		fmt.Fprintf(tw, "model\tchosen\tshare\t\n")
		for _, m := range s.Models {
			if m.Chosen > 0 {
				fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t\n", m.Model, m.Chosen, 100*m.Share)
			}
		}
		tw.Flush()
	}
	if s.Feedback > 0 {
		fmt.Fprintf(w, "\n%d feedback rows\n", s.Feedback)
		fmt.Fprintf(tw, "model\tfeedback\tsignals\t\n")
		for _, m := range s.Models {
			if m.Feedback == 0 {
				continue
			}
			var sig []string
			for _, k := range slices.Sorted(maps.Keys(m.Signals)) {
				sig = append(sig, fmt.Sprintf("%s %d", k, m.Signals[k]))
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t\n", m.Model, m.Feedback, strings.Join(sig, ", "))
		}
		tw.Flush()
	}
	if s.Prompts == 0 && s.Outcomes+s.Battles == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d prompts in %d tasks\n", s.Prompts, len(s.Tasks))
	names := s.TaskNames()
	const maxTasks = 60
	for i, t := range names {
		if i == maxTasks {
			fmt.Fprintf(tw, "(%d more)\t\t\n", len(names)-maxTasks)
			break
		}
		label := t
		if label == "" {
			label = "(no task)"
		}
		fmt.Fprintf(tw, "%s\t%d\t\n", label, s.Tasks[t])
	}
	tw.Flush()
}

func dataSplitCommand() *command {
	return &command{
		name:  "split",
		usage: "--in FILE... --out-dir DIR [--by hash|time] [--fractions 0.8,0.1,0.1] [--seed N]",
		short: "deterministic train/validation/test split by prompt",
		long: `Writes DIR/train, DIR/val and DIR/test (Parquet by default). Every record of a
prompt goes to the same part: by a seeded hash of the prompt id, or by time
(each prompt's first timestamp; the earliest prompts train).`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf readFlags
			rf.register(fs)
			outDir := fs.String("out-dir", "", "output `directory`")
			by := fs.String("by", "hash", "split by hash (of prompt id) or time")
			fractions := fs.String("fractions", "0.8,0.1,0.1", "train,val,test fractions of prompts")
			seed := fs.Uint64("seed", 0, "hash seed")
			outFormat := fs.String("out-format", "parquet", "output format: parquet, jsonl or csv")
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, e *env, args []string) error {
				opt, inputs, _, err := rf.options(ctx, args)
				if err != nil {
					return err
				}
				if *outDir == "" {
					return usagef("--out-dir is required")
				}
				cfg := data.SplitConfig{By: data.SplitBy(*by), Seed: *seed}
				fr := strings.Split(*fractions, ",")
				if len(fr) != 3 {
					return usagef("--fractions %q: want three numbers, train,val,test", *fractions)
				}
				for i, s := range fr {
					if cfg.Fractions[i], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
						return usagef("--fractions %q: %v", *fractions, err)
					}
				}
				if err := cfg.Validate(); err != nil {
					return usagef("%v", err)
				}
				container, err := data.ParseContainer(*outFormat)
				if err != nil {
					return usagef("--out-format: %v", err)
				}
				var sp *data.Splitter
				if cfg.By == data.ByTime {
					first := data.FirstTimes{}
					if _, err := readAll(ctx, e, opt, inputs, first.Handler()); err != nil {
						return err
					}
					sp, err = data.NewTimeSplitter(cfg, first)
				} else {
					sp, err = data.NewHashSplitter(cfg)
				}
				if err != nil {
					return err
				}
				if err := os.MkdirAll(*outDir, 0o755); err != nil {
					return err
				}
				var writers [3]*lazyWriter
				var prompts [3]map[string]struct{}
				for _, p := range data.Parts {
					writers[p] = &lazyWriter{path: filepath.Join(*outDir, p.String()+"."+string(container)), container: container}
					prompts[p] = map[string]struct{}{}
				}
				route := func(id string) (data.Handler, error) {
					p, ok := sp.Assign(id)
					if !ok {
						return data.Handler{}, fmt.Errorf("prompt %s has no part", id)
					}
					prompts[p][id] = struct{}{}
					return writers[p].handler(), nil
				}
				h := data.Handler{
					Outcome: func(o *data.Outcome) error {
						w, err := route(o.PromptID)
						if err != nil {
							return err
						}
						return w.Outcome(o)
					},
					Battle: func(b *data.Battle) error {
						w, err := route(b.PromptID)
						if err != nil {
							return err
						}
						return w.Battle(b)
					},
				}
				rep, err := readAll(ctx, e, opt, inputs, h)
				var firstErr error = err
				for _, w := range writers {
					if ferr := w.finish(err); firstErr == nil {
						firstErr = ferr
					}
				}
				if firstErr != nil {
					return firstErr
				}
				type partOut struct {
					Part    string `json:"part"`
					File    string `json:"file,omitempty"`
					Records int    `json:"records"`
					Prompts int    `json:"prompts"`
				}
				var parts []partOut
				for _, p := range data.Parts {
					po := partOut{Part: p.String(), Prompts: len(prompts[p])}
					if w := writers[p].w; w != nil {
						po.File, po.Records = writers[p].path, w.Count()
					}
					parts = append(parts, po)
				}
				if *asJSON {
					return writeJSON(e.stdout, map[string]any{"read": reportJSON(rep, ""), "parts": parts})
				}
				printReport(e.stdout, rep)
				for _, po := range parts {
					file := po.File
					if file == "" {
						file = "(empty, not written)"
					}
					fmt.Fprintf(e.stdout, "%-5s %8d records %7d prompts  %s\n", po.Part, po.Records, po.Prompts, file)
				}
				return nil
			}
		},
	}
}

// fillCost gives an outcome without a cost the catalog's price; a nil
// catalog leaves it as it is.
func fillCost(cat *data.Catalog, o *data.Outcome) error {
	if cat == nil || o.HasCost {
		return nil
	}
	c, err := cat.OutcomeCost(o)
	if err != nil {
		return &costError{err}
	}
	o.Cost, o.HasCost = c, true
	return nil
}
