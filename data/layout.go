package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Layout is the shape of the records in a file (formats.md).
type Layout string

// The layouts the readers understand.
const (
	// LayoutOutcomes is one row per (prompt, model) answer (§1).
	LayoutOutcomes Layout = "outcomes"
	// LayoutWide is a RouteLLM or RouterBench table: a prompt column and a
	// column per model (§2).
	LayoutWide Layout = "wide"
	// LayoutScoreMap is RouterDC/LLMRouter's {"question", "scores"} (§3).
	LayoutScoreMap Layout = "scores"
	// LayoutPerformance is RouteProfile's {"query", "model_performance":
	// {model: {"task_performance", "success", tokens...}}}.
	LayoutPerformance Layout = "performance"
	// LayoutArena is Chatbot Arena conversations (and the canonical
	// battle layout, which has a "prompt" column instead) (§4).
	LayoutArena Layout = "arena"
	// LayoutArena55k is lmsys-arena-human-preference-55k (§4).
	LayoutArena55k Layout = "arena55k"
	// LayoutPairs is generic pairs: prompt, winner, loser, tie (§4).
	LayoutPairs Layout = "pairs"
	// LayoutFeedback is a production feedback log (§6).
	LayoutFeedback Layout = "feedback"
	// LayoutDecisions is the server's decision log (§7).
	LayoutDecisions Layout = "decisions"
)

// Layouts lists every layout, in the order they are tried when sniffing.
var Layouts = []Layout{LayoutArena55k, LayoutArena, LayoutPairs, LayoutScoreMap, LayoutPerformance,
	LayoutDecisions, LayoutFeedback, LayoutOutcomes, LayoutWide}

// ParseLayout parses a --layout value.
func ParseLayout(s string) (Layout, error) {
	for _, l := range Layouts {
		if string(l) == s {
			return l, nil
		}
	}
	names := make([]string, len(Layouts))
	for i, l := range Layouts {
		names[i] = string(l)
	}
	return "", fmt.Errorf("unknown layout %q (want one of %s)", s, strings.Join(names, ", "))
}

// Kind is the kind of canonical record a layout yields.
type Kind int

// Record kinds.
const (
	KindOutcome Kind = iota + 1
	KindBattle
	KindFeedback
	KindDecision
)

func (k Kind) String() string {
	switch k {
	case KindOutcome:
		return "outcomes"
	case KindBattle:
		return "battles"
	case KindFeedback:
		return "feedback"
	case KindDecision:
		return "decisions"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Kind returns the kind of record a layout yields.
func (l Layout) Kind() Kind {
	switch l {
	case LayoutArena, LayoutArena55k, LayoutPairs:
		return KindBattle
	case LayoutFeedback:
		return KindFeedback
	case LayoutDecisions:
		return KindDecision
	}
	return KindOutcome
}

// SniffLayout names the layout of a file from its field names.
func SniffLayout(keys []string) (Layout, error) {
	has := make(map[string]bool, len(keys))
	for _, k := range keys {
		has[k] = true
	}
	switch {
	case has["model_a"] && has["model_b"] && has["winner_model_a"]:
		return LayoutArena55k, nil
	case has["model_a"] && has["model_b"] && has["winner"]:
		return LayoutArena, nil
	case has["winner"] && has["loser"]:
		return LayoutPairs, nil
	case has["chosen_model"]:
		// Before score maps: a decision log that logs prompts has
		// "prompt" and "scores" too.
		return LayoutDecisions, nil
	case has["scores"] && (has["question"] || has["query"] || has["prompt"]):
		return LayoutScoreMap, nil
	case has["model_performance"]:
		return LayoutPerformance, nil
	case has["signal"] && has["model"]:
		return LayoutFeedback, nil
	case has["model"] && has["score"] && (has["prompt"] || has["prompt_id"]):
		return LayoutOutcomes, nil
	case has["prompt"]:
		return LayoutWide, nil
	}
	sorted := append([]string(nil), keys...)
	sort.Strings(sorted)
	if len(sorted) > 12 {
		sorted = append(sorted[:12], "...")
	}
	return "", fmt.Errorf("%w: fields [%s] match no known layout; name one with --layout", ErrUnknownLayout, strings.Join(sorted, ", "))
}

// emitter receives the records a layout makes from one row.
type emitter interface {
	outcome(o *Outcome) error
	battle(b *Battle) error
	feedback(f *Feedback) error
	decision(d *Decision) error
	// noAnswer counts n empty score cells: models without an answer.
	noAnswer(n int)
}

// decoder turns the rows of one file of one layout into records.
type decoder interface {
	decode(r row, e emitter) error
}

// newDecoder prepares the decoder of a layout for a file with these keys.
func newDecoder(l Layout, keys []string, opt *Options, file string) (decoder, error) {
	switch l {
	case LayoutOutcomes:
		return outcomeDecoder{}, nil
	case LayoutWide:
		return newWideDecoder(keys, opt, file)
	case LayoutScoreMap:
		return scoreMapDecoder{task: opt.Task}, nil
	case LayoutPerformance:
		return performanceDecoder{}, nil
	case LayoutArena:
		return arenaDecoder{lastTurn: opt.LastTurn}, nil
	case LayoutArena55k:
		return arena55kDecoder{lastTurn: opt.LastTurn}, nil
	case LayoutPairs:
		return pairsDecoder{}, nil
	case LayoutFeedback:
		return feedbackDecoder{}, nil
	case LayoutDecisions:
		return decisionDecoder{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownLayout, l)
}

// metaFrom decodes a "meta" field: an object of strings, or its JSON text.
func metaFrom(r row) (map[string]string, error) {
	v, ok := r.get("meta")
	if !ok || v == nil {
		return nil, nil
	}
	if s, isStr := v.(string); isStr {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, ferr("meta", "want a JSON object of strings: %v", err)
		}
		if len(m) == 0 {
			return nil, nil // Meta is nil when there is none
		}
		return m, nil
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return nil, ferr("meta", "%s, want an object of strings", kindOf(v))
	}
	if len(obj) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(obj))
	for k, x := range obj {
		s, err := toString(x)
		if err != nil {
			return nil, ferr("meta."+k, "%v", err)
		}
		m[k] = s
	}
	return m, nil
}

func checkScore(field string, s float64) error {
	if s < 0 || s > 1 {
		return ferr(field, "%v is outside [0, 1]", s)
	}
	return nil
}

func checkCost(field string, c float64) error {
	if c < 0 {
		return ferr(field, "%v is negative", c)
	}
	return nil
}

// outcomeDecoder reads the canonical outcome layout.
type outcomeDecoder struct{}

func (outcomeDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	o := Outcome{PromptID: f.optStr("prompt_id"), Prompt: f.str("prompt"), Model: f.str("model"), Score: f.num("score")}
	f.check(checkScore("score", o.Score))
	o.Cost, o.HasCost = f.optNum("cost")
	f.check(checkCost("cost", o.Cost))
	o.Task = f.optStr("task")
	o.Time = f.optTime("timestamp")
	if f.err != nil {
		return f.err
	}
	var err error
	if o.Meta, err = metaFrom(r); err != nil {
		return err
	}
	return e.outcome(&o)
}

// wideDecoder reads a RouteLLM/RouterBench wide table.
type wideDecoder struct {
	models   []string          // model columns
	costCols map[string]string // model -> "<model>|total_cost"
	respCols map[string]string // model -> response column
	metaCols []string          // other columns, kept in Meta
	idCol    string
	taskCol  string
	task     string // default task label
	// candidates are columns that may be models when no catalog or
	// --models names them, not yet decided: a column's first non-empty
	// value decides (a score: model; else metadata). Deciding on the first
	// row alone made a model with no answer there metadata for good.
	candidates []string
	order      map[string]int // column positions, to keep models in order
	// handed counts the rows that made records; owed the empty cells of
	// those rows in columns found to be models later, counted as missing
	// with the next row that makes records.
	handed, owed int
}

// wideIDColumns and wideTaskColumns name a prompt's id and task.
var (
	wideIDColumns   = []string{"prompt_id", "sample_id"}
	wideTaskColumns = []string{"task", "eval_name"}
	// wideIgnore are column names never taken for a model by the guess.
	wideIgnore = map[string]bool{"": true, "index": true, "id": true, "level_0": true, "oracle_model_to_route_to": true, "prompt": true}
)

func newWideDecoder(keys []string, opt *Options, file string) (*wideDecoder, error) {
	d := &wideDecoder{costCols: map[string]string{}, respCols: map[string]string{}, task: opt.Task}
	has := map[string]bool{}
	for _, k := range keys {
		has[k] = true
	}
	for _, c := range wideIDColumns {
		if has[c] && d.idCol == "" {
			d.idCol = c
		}
	}
	for _, c := range wideTaskColumns {
		if has[c] && d.taskCol == "" {
			d.taskCol = c
		}
	}
	named := map[string]bool{}
	for _, m := range opt.Models {
		named[m] = true
	}
	isModel := func(k string) bool {
		if len(named) > 0 {
			return named[k]
		}
		if opt.Catalog != nil {
			_, ok := opt.Catalog.Lookup(k)
			return ok
		}
		return false
	}
	guess := len(named) == 0 && opt.Catalog == nil
	for _, k := range keys {
		if isModel(k) {
			d.models = append(d.models, k)
		}
	}
	// Columns that belong to a model by their suffix.
	suffixOf := func(k string) (model, kind string) {
		for _, suf := range []struct{ s, kind string }{{"|total_cost", "cost"}, {"|model_response", "response"}, {"_response", "response"}} {
			if strings.HasSuffix(k, suf.s) {
				return strings.TrimSuffix(k, suf.s), suf.kind
			}
		}
		return "", ""
	}
	var candidates []string
	for _, k := range keys {
		if k == "prompt" || k == d.idCol || k == d.taskCol || isModel(k) {
			continue
		}
		if m, kind := suffixOf(k); kind != "" && (has[m] || !guess) {
			switch kind {
			case "cost":
				d.costCols[m] = k
			case "response":
				d.respCols[m] = k
			}
			continue
		}
		if guess && !wideIgnore[strings.ToLower(k)] && !strings.HasPrefix(k, "Unnamed") && !strings.Contains(k, "|") {
			candidates = append(candidates, k)
			continue
		}
		d.metaCols = append(d.metaCols, k)
	}
	d.candidates = candidates
	d.order = make(map[string]int, len(keys))
	for i, k := range keys {
		d.order[k] = i
	}
	if !guess && len(d.models) == 0 {
		return nil, &ParseError{File: file, Field: "columns", Err: errors.New("no column names a model of the catalog or --models")}
	}
	return d, nil
}

// resolve classifies the guessed columns that have a value in this row.
func (d *wideDecoder) resolve(r row) error {
	undecided := d.candidates[:0]
	added := false
	for _, k := range d.candidates {
		v, _ := r.get(k)
		if s, isStr := v.(string); v == nil || isStr && strings.TrimSpace(s) == "" {
			undecided = append(undecided, k)
			continue
		}
		if f, err := toFloat(v); err == nil && f >= 0 && f <= 1 {
			d.models = append(d.models, k)
			d.owed += d.handed
			added = true
			continue
		}
		d.metaCols = append(d.metaCols, k)
		// A column that is no model has no cost or response columns.
		for _, cols := range []map[string]string{d.costCols, d.respCols} {
			if c, ok := cols[k]; ok {
				d.metaCols = append(d.metaCols, c)
				delete(cols, k)
			}
		}
	}
	d.candidates = undecided
	if added {
		sort.SliceStable(d.models, func(i, j int) bool { return d.order[d.models[i]] < d.order[d.models[j]] })
	}
	if len(d.models) == 0 && len(d.candidates) == 0 {
		return ferr("columns", "no column holds scores; name the model columns with --models or a catalog")
	}
	return nil
}

// Models returns the model columns found (after the first row).
func (d *wideDecoder) Models() []string { return d.models }

func (d *wideDecoder) decode(r row, e emitter) error {
	if len(d.candidates) > 0 || len(d.models) == 0 {
		if err := d.resolve(r); err != nil {
			return err
		}
	}
	prompt, err := r.str("prompt")
	if err != nil {
		return err
	}
	var id string
	if d.idCol != "" {
		if id, err = r.optStr(d.idCol); err != nil {
			return err
		}
	}
	task := d.task
	if d.taskCol != "" {
		t, err := r.optStr(d.taskCol)
		if err != nil {
			return err
		}
		if t != "" {
			task = t
		}
	}
	var meta map[string]string
	for _, k := range d.metaCols {
		// An empty CSV cell is no value, as a Parquet null is.
		v, _ := r.get(k)
		if s, isStr := v.(string); v == nil || isStr && strings.TrimSpace(s) == "" {
			continue
		}
		s, err := toString(v)
		if err != nil {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		if meta == nil {
			meta = make(map[string]string, len(d.metaCols))
		}
		meta[k] = s
	}
	made := 0
	for _, m := range d.models {
		score, ok, err := r.optNum(m)
		if err != nil {
			return err
		}
		if !ok {
			e.noAnswer(1) // no answer of this model to this prompt
			continue
		}
		if err := checkScore(m, score); err != nil {
			return err
		}
		made++
		o := Outcome{PromptID: id, Prompt: prompt, Model: m, Score: score, Task: task}
		if c := d.costCols[m]; c != "" {
			if o.Cost, o.HasCost, err = r.optNum(c); err != nil {
				return err
			}
			if err := checkCost(c, o.Cost); err != nil {
				return err
			}
		}
		o.Meta = meta
		if c := d.respCols[m]; c != "" {
			resp, err := r.optStr(c)
			if err != nil {
				return err
			}
			o.Meta = make(map[string]string, len(meta)+1)
			for k, v := range meta {
				o.Meta[k] = v
			}
			o.Meta["response"] = resp
		}
		if err := e.outcome(&o); err != nil {
			return err
		}
	}
	if made > 0 {
		e.noAnswer(d.owed)
		d.handed++
		d.owed = 0
	}
	return nil
}

// scoreMapDecoder reads RouterDC/LLMRouter score maps.
type scoreMapDecoder struct{ task string }

func (d scoreMapDecoder) decode(r row, e emitter) error {
	var prompt string
	var err error
	for _, f := range []string{"question", "query", "prompt"} {
		if _, ok := r.get(f); ok {
			if prompt, err = r.str(f); err != nil {
				return err
			}
			break
		}
	}
	sv, err := r.structured("scores")
	if err != nil {
		return err
	}
	scores, ok := sv.(map[string]any)
	if !ok {
		return ferr("scores", "%s, want an object of model: score", kindOf(sv))
	}
	id, err := r.optStr("prompt_id")
	if err != nil {
		return err
	}
	task := d.task
	for _, f := range []string{"task", "task_name"} {
		if t, err := r.optStr(f); err != nil {
			return err
		} else if t != "" {
			task = t
			break
		}
	}
	var meta map[string]string
	if c, err := r.optStr("cluster_id"); err != nil {
		return err
	} else if c != "" {
		meta = map[string]string{"cluster_id": c}
	}
	models := make([]string, 0, len(scores))
	for m := range scores {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		if scores[m] == nil {
			e.noAnswer(1)
			continue
		}
		s, err := toFloat(scores[m])
		if err != nil {
			return ferr("scores."+m, "%v", err)
		}
		if err := checkScore("scores."+m, s); err != nil {
			return err
		}
		if m == "" {
			return ferr("scores", "empty model name")
		}
		if err := e.outcome(&Outcome{PromptID: id, Prompt: prompt, Model: m, Score: s, Task: task, Meta: meta}); err != nil {
			return err
		}
	}
	return nil
}

// performanceDecoder reads RouteProfile's per-model performance records.
type performanceDecoder struct{}

func (performanceDecoder) decode(r row, e emitter) error {
	var prompt string
	var err error
	if _, ok := r.get("query"); ok {
		prompt, err = r.str("query")
	} else {
		prompt, err = r.str("prompt")
	}
	if err != nil {
		return err
	}
	task, err := r.optStr("task_name")
	if err != nil {
		return err
	}
	if task == "" {
		if task, err = r.optStr("task"); err != nil {
			return err
		}
	}
	pv, err := r.structured("model_performance")
	if err != nil {
		return err
	}
	perf, ok := pv.(map[string]any)
	if !ok {
		return ferr("model_performance", "%s, want an object of model: result", kindOf(pv))
	}
	models := make([]string, 0, len(perf))
	for m := range perf {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		field := "model_performance." + m
		if m == "" {
			return ferr("model_performance", "empty model name")
		}
		res, ok := perf[m].(map[string]any)
		if !ok {
			return ferr(field, "%s, want an object", kindOf(perf[m]))
		}
		rr := row{mapRow(res)}
		var score float64
		if _, ok := res["task_performance"]; ok {
			score, err = rr.num("task_performance")
		} else {
			score, err = rr.num("success")
		}
		if err != nil {
			return ferr(field, "%v", err)
		}
		if err := checkScore(field+".task_performance", score); err != nil {
			return err
		}
		o := Outcome{Prompt: prompt, Model: m, Score: score, Task: task}
		for _, k := range []string{"response", "prompt_tokens", "completion_tokens"} {
			if v, ok := res[k]; ok && v != nil {
				s, err := toString(v)
				if err != nil {
					return ferr(field+"."+k, "%v", err)
				}
				if o.Meta == nil {
					o.Meta = map[string]string{}
				}
				o.Meta[k] = s
			}
		}
		if err := e.outcome(&o); err != nil {
			return err
		}
	}
	return nil
}

// userTurn picks the first (or last) user turn of a conversation: a list
// of {role, content}, or of plain strings (the 55k file's prompt lists).
func userTurn(v any, field string, last bool) (string, int, error) {
	turns, ok := v.([]any)
	if !ok {
		return "", 0, ferr(field, "%s, want a list of turns", kindOf(v))
	}
	var users []string
	for i, t := range turns {
		switch x := t.(type) {
		case string:
			users = append(users, x)
		case map[string]any:
			role, _ := x["role"].(string)
			if role != "user" && role != "human" {
				continue
			}
			c, err := toString(x["content"])
			if err != nil {
				return "", 0, ferr(fmt.Sprintf("%s[%d].content", field, i), "%v", err)
			}
			users = append(users, c)
		case nil:
			users = append(users, "")
		default:
			return "", 0, ferr(fmt.Sprintf("%s[%d]", field, i), "%s, want {role, content}", kindOf(t))
		}
	}
	if len(users) == 0 {
		return "", 0, ferr(field, "no user turn")
	}
	p := users[0]
	if last {
		p = users[len(users)-1]
	}
	if strings.TrimSpace(p) == "" {
		return "", 0, ferr(field, "the user turn is empty")
	}
	return p, len(users), nil
}

// arenaDecoder reads Chatbot Arena conversations and canonical battles.
type arenaDecoder struct{ lastTurn bool }

// arenaMeta are scalar arena fields kept in Meta.
var arenaMeta = []string{"question_id", "anony", "id"}

func (d arenaDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	b := Battle{ModelA: f.str("model_a"), ModelB: f.str("model_b"), Winner: Winner(f.str("winner"))}
	if f.err == nil && !b.Winner.Valid() {
		return ferr("winner", "%q is not model_a, model_b, tie or tie (bothbad)", truncate(string(b.Winner), 40))
	}
	turns := 0
	if v, ok := r.get("prompt"); ok && v != nil {
		b.Prompt = f.str("prompt")
	} else if f.err == nil {
		conv, err := r.structured("conversation_a")
		if err != nil {
			return err
		}
		if b.Prompt, turns, err = userTurn(conv, "conversation_a", d.lastTurn); err != nil {
			return err
		}
	}
	b.PromptID = f.optStr("prompt_id")
	b.Task = f.optStr("task")
	b.Judge = f.optStr("judge")
	b.Language = f.optStr("language")
	b.Turn = turns
	if t, ok := f.optNum("turn"); ok {
		if t < 0 || t != float64(int(t)) {
			return ferr("turn", "%v is not a turn count", t)
		}
		b.Turn = int(t)
	}
	for _, name := range []string{"timestamp", "tstamp"} {
		if _, ok := r.get(name); ok {
			b.Time = f.optTime(name)
			break
		}
	}
	if f.err != nil {
		return f.err
	}
	var err error
	if b.Meta, err = metaFrom(r); err != nil {
		return err
	}
	for _, k := range arenaMeta {
		v, ok := r.get(k)
		if !ok || v == nil {
			continue
		}
		s, err := toString(v)
		if err != nil {
			return &fieldError{k, err}
		}
		if b.Meta == nil {
			b.Meta = map[string]string{}
		}
		b.Meta[k] = s
	}
	return e.battle(&b)
}

// arena55kDecoder reads lmsys-arena-human-preference-55k.
type arena55kDecoder struct{ lastTurn bool }

func (d arena55kDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	b := Battle{ModelA: f.str("model_a"), ModelB: f.str("model_b")}
	if f.err != nil {
		return f.err
	}
	pv, err := r.structured("prompt")
	if err != nil {
		return err
	}
	if b.Prompt, b.Turn, err = userTurn(pv, "prompt", d.lastTurn); err != nil {
		return err
	}
	var ones []Winner
	for _, c := range []struct {
		field string
		w     Winner
	}{{"winner_model_a", WinnerA}, {"winner_model_b", WinnerB}, {"winner_tie", Tie}} {
		x := f.num(c.field)
		if f.err != nil {
			return f.err
		}
		if x != 0 && x != 1 {
			return ferr(c.field, "%v is not 0 or 1", x)
		}
		if x == 1 {
			ones = append(ones, c.w)
		}
	}
	if len(ones) != 1 {
		return ferr("winner_model_a", "%d of winner_model_a, winner_model_b, winner_tie are 1; want exactly one", len(ones))
	}
	b.Winner = ones[0]
	for _, k := range []string{"id", "response_a", "response_b"} {
		if s := f.optStr(k); s != "" {
			if b.Meta == nil {
				b.Meta = map[string]string{}
			}
			b.Meta[k] = s
		}
	}
	if f.err != nil {
		return f.err
	}
	return e.battle(&b)
}

// pairsDecoder reads generic pairs: prompt, winner, loser, tie.
type pairsDecoder struct{}

func (pairsDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	b := Battle{Prompt: f.str("prompt"), ModelA: f.str("winner"), ModelB: f.str("loser"), Winner: WinnerA}
	if t, ok := f.optNum("tie"); ok && t != 0 {
		if t != 1 {
			return ferr("tie", "%v is not a boolean", t)
		}
		b.Winner = Tie
	}
	b.PromptID = f.optStr("prompt_id")
	b.Task = f.optStr("task")
	b.Time = f.optTime("timestamp")
	if f.err != nil {
		return f.err
	}
	return e.battle(&b)
}

// feedbackDecoder reads production feedback logs.
type feedbackDecoder struct{}

func (feedbackDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	fb := Feedback{RequestID: f.str("request_id"), Time: f.optTime("timestamp"), Prompt: f.optStr("prompt"), PromptID: f.optStr("prompt_id")}
	if f.err == nil && fb.Prompt == "" && fb.PromptID == "" {
		return ferr("prompt", "missing, and no prompt_id")
	}
	fb.Model = f.str("model")
	fb.RouterVersion = f.optStr("router_version")
	if f.err != nil {
		return f.err
	}
	sv, _ := r.get("signal")
	switch x := sv.(type) {
	case string:
		switch x {
		case SignalThumbsUp, SignalThumbsDown, SignalRetry, SignalCompleted:
			fb.Signal = x
		default:
			s, err := toFloat(x)
			if err != nil {
				return ferr("signal", "%q is not thumbs_up, thumbs_down, retry, completed or a score", truncate(x, 40))
			}
			fb.Score, fb.HasScore = s, true
		}
	default:
		s, err := toFloat(sv)
		if err != nil {
			return ferr("signal", "%v", err)
		}
		fb.Score, fb.HasScore = s, true
	}
	if fb.HasScore {
		f.check(checkScore("signal", fb.Score))
	}
	fb.Cost, fb.HasCost = f.optNum("cost")
	f.check(checkCost("cost", fb.Cost))
	fb.LatencyMS, fb.HasLatency = f.optNum("latency_ms")
	if f.err != nil {
		return f.err
	}
	return e.feedback(&fb)
}

// decisionDecoder reads the server's decision log.
type decisionDecoder struct{}

func (decisionDecoder) decode(r row, e emitter) error {
	f := fields{r: r}
	d := Decision{RequestID: f.str("request_id"), Time: f.optTime("timestamp"), PromptHash: f.optStr("prompt_hash"),
		Prompt: f.optStr("prompt"), Router: f.optStr("router"), RouterVersion: f.optStr("router_version"),
		ChosenModel: f.str("chosen_model")}
	if f.err != nil {
		return f.err
	}
	if v, ok := r.get("scores"); ok && v != nil {
		sv, err := r.structured("scores")
		if err != nil {
			return err
		}
		m, ok := sv.(map[string]any)
		if !ok {
			return ferr("scores", "%s, want an object of model: probability", kindOf(sv))
		}
		for k, x := range m {
			if d.Scores == nil {
				d.Scores = make(map[string]float64, len(m))
			}
			f, err := toFloat(x)
			if err != nil {
				return ferr("scores."+k, "%v", err)
			}
			d.Scores[k] = f
		}
	}
	if v, ok := r.get("policy"); ok && v != nil {
		if s, isStr := v.(string); isStr {
			d.Policy = s
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return ferr("policy", "%v", err)
			}
			d.Policy = string(b)
		}
	}
	d.LatencyUS, _ = f.optNum("latency_us")
	if f.err != nil {
		return f.err
	}
	return e.decision(&d)
}
