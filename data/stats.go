package data

import (
	"sort"
)

// ModelStats summarises one model's records.
type ModelStats struct {
	Model string `json:"model"`
	// Answers counts outcomes; Prompts the distinct prompts answered.
	Answers int `json:"answers,omitempty"`
	Prompts int `json:"prompts"`
	// MeanScore is the mean outcome score.
	MeanScore float64 `json:"mean_score,omitempty"`
	// MeanCost is the mean cost over outcomes that carry one (USD);
	// CostKnown counts them.
	MeanCost  float64 `json:"mean_cost,omitempty"`
	CostKnown int     `json:"cost_known,omitempty"`
	// Coverage is Prompts over all the distinct prompts of the data.
	Coverage float64 `json:"coverage"`
	// Battles, Wins, Losses and Ties count battles the model took part in
	// (a self-battle counts once); WinRate is (wins + ties/2) / battles.
	Battles int     `json:"battles,omitempty"`
	Wins    int     `json:"wins,omitempty"`
	Losses  int     `json:"losses,omitempty"`
	Ties    int     `json:"ties,omitempty"`
	WinRate float64 `json:"win_rate,omitempty"`
	// Chosen counts server decisions that picked the model; Share is
	// Chosen over all decisions.
	Chosen int     `json:"chosen,omitempty"`
	Share  float64 `json:"share,omitempty"`
	// Feedback counts feedback rows about the model; Signals counts them
	// by signal ("score" for float scores).
	Feedback int            `json:"feedback,omitempty"`
	Signals  map[string]int `json:"signals,omitempty"`
}

// Summary summarises a data set.
type Summary struct {
	Outcomes  int `json:"outcomes"`
	Battles   int `json:"battles"`
	Decisions int `json:"decisions,omitempty"`
	Feedback  int `json:"feedback,omitempty"`
	Prompts   int `json:"prompts"`
	// Routers counts decisions by router and version ("name@version").
	Routers map[string]int `json:"routers,omitempty"`
	// MeanLatencyUS is the mean routing latency of the decisions.
	MeanLatencyUS float64 `json:"mean_latency_us,omitempty"`
	// Models are sorted by name.
	Models []ModelStats `json:"models"`
	// Tasks counts distinct prompts per task ("" for none).
	Tasks map[string]int `json:"tasks"`
}

// Stats accumulates a Summary from streamed records. It keeps a set of
// prompt ids per model, so memory grows with distinct (prompt, model)
// pairs, not rows. A Stats is not safe for concurrent use.
type Stats struct {
	outcomes, battles   int
	decisions, feedback int
	latencySum          float64
	routers             map[string]int
	prompts             map[string]struct{}
	taskPrompts         map[string]map[string]struct{}
	models              map[string]*modelAcc
}

type modelAcc struct {
	answers   int
	scoreSum  float64
	costSum   float64
	costKnown int
	prompts   map[string]struct{}
	battles   int
	wins      int
	losses    int
	ties      int
	chosen    int
	feedback  int
	signals   map[string]int
}

// NewStats returns an empty accumulator.
func NewStats() *Stats {
	return &Stats{prompts: map[string]struct{}{}, taskPrompts: map[string]map[string]struct{}{},
		models: map[string]*modelAcc{}, routers: map[string]int{}}
}

func (s *Stats) model(name string) *modelAcc {
	m := s.models[name]
	if m == nil {
		m = &modelAcc{prompts: map[string]struct{}{}}
		s.models[name] = m
	}
	return m
}

func (s *Stats) prompt(id, task string) {
	s.prompts[id] = struct{}{}
	tp := s.taskPrompts[task]
	if tp == nil {
		tp = map[string]struct{}{}
		s.taskPrompts[task] = tp
	}
	tp[id] = struct{}{}
}

// AddOutcome counts one outcome.
func (s *Stats) AddOutcome(o *Outcome) error {
	s.outcomes++
	s.prompt(o.PromptID, o.Task)
	m := s.model(o.Model)
	m.answers++
	m.scoreSum += o.Score
	if o.HasCost {
		m.costSum += o.Cost
		m.costKnown++
	}
	m.prompts[o.PromptID] = struct{}{}
	return nil
}

// AddBattle counts one battle.
func (s *Stats) AddBattle(b *Battle) error {
	s.battles++
	s.prompt(b.PromptID, b.Task)
	a, bb := s.model(b.ModelA), s.model(b.ModelB)
	a.prompts[b.PromptID] = struct{}{}
	bb.prompts[b.PromptID] = struct{}{}
	a.battles++
	if b.ModelA == b.ModelB {
		a.ties++ // a self-battle says nothing about the model
		return nil
	}
	bb.battles++
	switch b.Winner {
	case WinnerA:
		a.wins++
		bb.losses++
	case WinnerB:
		bb.wins++
		a.losses++
	default:
		a.ties++
		bb.ties++
	}
	return nil
}

// AddDecision counts one server decision (formats.md §7). Decisions
// count toward the models' shares, not toward prompts, whose ids a
// decision log does not hold.
func (s *Stats) AddDecision(d *Decision) error {
	s.decisions++
	s.latencySum += d.LatencyUS
	s.routers[d.Router+"@"+d.RouterVersion]++
	s.model(d.ChosenModel).chosen++
	return nil
}

// AddFeedback counts one feedback row (formats.md §6).
func (s *Stats) AddFeedback(f *Feedback) error {
	s.feedback++
	m := s.model(f.Model)
	m.feedback++
	if m.signals == nil {
		m.signals = map[string]int{}
	}
	sig := f.Signal
	if sig == "" {
		sig = "score"
	}
	m.signals[sig]++
	return nil
}

// Handler returns a Handler that counts every record kind.
func (s *Stats) Handler() Handler {
	return Handler{Outcome: s.AddOutcome, Battle: s.AddBattle, Decision: s.AddDecision, Feedback: s.AddFeedback}
}

// Summary returns the summary so far.
func (s *Stats) Summary() *Summary {
	sum := &Summary{Outcomes: s.outcomes, Battles: s.battles, Decisions: s.decisions, Feedback: s.feedback,
		Prompts: len(s.prompts), Tasks: map[string]int{}}
	if s.decisions > 0 {
		sum.Routers = s.routers
		sum.MeanLatencyUS = s.latencySum / float64(s.decisions)
	}
	for t, p := range s.taskPrompts {
		sum.Tasks[t] = len(p)
	}
	for _, name := range sortedKeys(s.models) {
		m := s.models[name]
		ms := ModelStats{Model: name, Answers: m.answers, Prompts: len(m.prompts), CostKnown: m.costKnown,
			Battles: m.battles, Wins: m.wins, Losses: m.losses, Ties: m.ties,
			Chosen: m.chosen, Feedback: m.feedback, Signals: m.signals}
		if s.decisions > 0 {
			ms.Share = float64(m.chosen) / float64(s.decisions)
		}
		if m.answers > 0 {
			ms.MeanScore = m.scoreSum / float64(m.answers)
		}
		if m.costKnown > 0 {
			ms.MeanCost = m.costSum / float64(m.costKnown)
		}
		if len(s.prompts) > 0 {
			ms.Coverage = float64(len(m.prompts)) / float64(len(s.prompts))
		}
		if m.battles > 0 {
			ms.WinRate = (float64(m.wins) + float64(m.ties)/2) / float64(m.battles)
		}
		sum.Models = append(sum.Models, ms)
	}
	return sum
}

// TaskNames returns the tasks of a summary, the largest first.
func (s *Summary) TaskNames() []string {
	names := sortedKeys(s.Tasks)
	sort.SliceStable(names, func(i, j int) bool { return s.Tasks[names[i]] > s.Tasks[names[j]] })
	return names
}
