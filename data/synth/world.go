package synth

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/routekit/routekit/data"
)

// World is a generated router world: a model catalog, graded answers,
// pairwise battles and the ground truth they were drawn from.
type World struct {
	// Config is the configuration the world was generated with, zero
	// fields replaced by their defaults.
	Config Config
	// Models is the catalog, in increasing order of input price.
	Models []data.ModelInfo
	// Prompts are the distinct prompts in time order.
	Prompts []Prompt
	// Outcomes holds one graded answer per (prompt, answering model),
	// grouped by prompt in time order, models in catalog order.
	Outcomes []data.Outcome
	// Battles are pairwise comparisons in time order.
	Battles []data.Battle
	// Truth is the latent ground truth.
	Truth Truth
}

// Prompt is one generated prompt.
type Prompt struct {
	ID     string    `json:"id"`
	Text   string    `json:"text"`
	Family string    `json:"family"`
	Time   time.Time `json:"time"`
}

// Truth is the latent ground truth of a world: the parameters of its
// multidimensional IRT model P(correct) = sigmoid(a_q · theta_m - b_q).
type Truth struct {
	// Skills names the dimensions of theta and a.
	Skills []string `json:"skills"`
	// Families are the task families with their skill mixes.
	Families []FamilyTruth `json:"families"`
	// Models are in catalog order.
	Models []ModelTruth `json:"models"`
	// Prompts is keyed by prompt id.
	Prompts map[string]PromptTruth `json:"prompts"`
	// HiddenShare is the share of the variance of the prompt difficulties
	// that comes from the hidden component, which the text does not show.
	HiddenShare float64 `json:"hidden_share"`
}

// FamilyTruth describes one task family.
type FamilyTruth struct {
	Name string `json:"name"`
	// Mix is the family's average skill mix (non-negative, sums to 1).
	Mix []float64 `json:"mix"`
	// Graded families score answers in {0, 0.1, ..., 1}; the others 0 or 1.
	Graded bool `json:"graded"`
	// BaseDifficulty is the family's offset of b_q.
	BaseDifficulty float64 `json:"base_difficulty"`
}

// ModelTruth is the latent ability of one model.
type ModelTruth struct {
	Name string `json:"name"`
	// Theta is the ability vector theta_m, one entry per skill.
	Theta []float64 `json:"theta"`
	// Ability is the overall ability, the mean of Theta.
	Ability float64 `json:"ability"`
	// Verbosity multiplies the model's answer lengths.
	Verbosity float64 `json:"verbosity"`
	// Specialty names the skill of a specialist's extra boost; empty for
	// generalists.
	Specialty string `json:"specialty,omitempty"`
}

// PromptTruth is the latent parameters of one prompt.
type PromptTruth struct {
	Family string `json:"family"`
	// Difficulty is b_q = Visible + Hidden.
	Difficulty float64 `json:"difficulty"`
	// Visible is the part of the difficulty expressed in the text (family,
	// template level, sizes and constraints).
	Visible float64 `json:"visible"`
	// Hidden is the part the text does not reveal.
	Hidden float64 `json:"hidden"`
	// Level is the template level, 0 (easy) to 3 (hard).
	Level int `json:"level"`
	// Discrimination is a_q, non-negative, one entry per skill.
	Discrimination []float64 `json:"discrimination"`
}

// Logit returns a_q · theta_m - b_q.
func (p PromptTruth) Logit(m ModelTruth) float64 {
	s := -p.Difficulty
	for k, a := range p.Discrimination {
		s += a * m.Theta[k]
	}
	return s
}

// PCorrect returns the true probability that model answers the prompt of
// id promptID correctly; ok is false when either is unknown.
func (t *Truth) PCorrect(model, promptID string) (p float64, ok bool) {
	pt, ok := t.Prompts[promptID]
	if !ok {
		return 0, false
	}
	for _, m := range t.Models {
		if m.Name == model {
			return sigmoid(pt.Logit(m)), true
		}
	}
	return 0, false
}

// Model returns the truth of a model by name.
func (t *Truth) Model(name string) (ModelTruth, bool) {
	for _, m := range t.Models {
		if m.Name == name {
			return m, true
		}
	}
	return ModelTruth{}, false
}

// Catalog returns the world's models as a catalog; the catalog holds
// copies, so changing it leaves the world unchanged.
func (w *World) Catalog() (*data.Catalog, error) {
	ms := make([]data.ModelInfo, len(w.Models))
	for i, m := range w.Models {
		m.InputPrice = clonePtr(m.InputPrice)
		m.OutputPrice = clonePtr(m.OutputPrice)
		m.CostPerQuery = clonePtr(m.CostPerQuery)
		if m.Extra != nil {
			x := make(map[string]any, len(m.Extra))
			for k, v := range m.Extra {
				x[k] = v
			}
			m.Extra = x
		}
		ms[i] = m
	}
	return data.NewCatalog(ms)
}

func clonePtr(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// WriteTruth writes the truth as indented JSON to path.
func (w *World) WriteTruth(path string) error {
	b, err := json.MarshalIndent(&w.Truth, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: encoding truth: %w", err)
	}
	b = append(b, '\n')
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("synth: writing truth: %w", err)
	}
	return nil
}

// Parameters of the generative model.
const (
	// Input prices are log-linear in ability between these, USD per 1M
	// tokens; output prices are 2 to 4 times the input price.
	minInputPrice = 0.05
	maxInputPrice = 7.5
	priceNoise    = 0.1 // sd of the noise of a model's position in the price range

	abilityMean   = 0.5   // mean of the general ability g_m
	abilitySD     = 0.9   // sd of g_m
	skillSD       = 0.45  // sd of theta_mk around g_m
	specialistP   = 0.35  // chance that a weaker model is a specialist
	verbositySD   = 0.25  // sd of ln verbosity
	hiddenSD      = 0.75  // sd of the hidden difficulty component
	levelStep     = 1.0   // difficulty added per template level
	extraStep     = 0.5   // difficulty range of the within-level extra
	discrimMean   = 0.35  // mean of ln alpha_q
	discrimSD     = 0.2   // sd of ln alpha_q
	mixJitterSD   = 0.25  // sd of the ln jitter of a prompt's skill mix
	betaPrecision = 8.0   // precision of graded scores' Beta draw
	outLenSD      = 0.35  // sd of ln output length
	tieMargin     = 0.035 // quality difference below which a battle is a tie
	bothBadBelow  = 0.5   // a tie with both qualities below this is "both bad"
)

// levelProbs are the probabilities of template levels 0..3.
var levelProbs = [4]float64{0.3, 0.3, 0.25, 0.15}

var vendors = []string{"aurora", "basalt", "cobalt", "dune", "ember", "fjord", "granite", "halo", "iris", "juniper"}

var tiers = []string{"nano", "mini", "small", "base", "medium", "large", "xl", "ultra"}

// Generate returns the world of cfg; zero fields of cfg mean their defaults.
func Generate(cfg Config) (*World, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w := &World{Config: cfg}
	w.Truth.Skills = slices.Clone(skillNames(cfg.Skills))
	for i, f := range families {
		w.Truth.Families = append(w.Truth.Families, FamilyTruth{
			Name: f.name, Mix: skillMix(i, cfg.Skills), Graded: f.graded, BaseDifficulty: f.base,
		})
	}
	w.genModels(newRand(cfg.Seed, streamModels))
	fam := w.genPrompts(newRand(cfg.Seed, streamPrompts))
	w.genOutcomes(newRand(cfg.Seed, streamOutcomes), fam)
	w.genBattles(newRand(cfg.Seed, streamBattles))
	return w, nil
}

func round3(x float64) float64 {
	if x == 0 {
		return 0
	}
	e := math.Pow(10, 2-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*e) / e
}

// meanOutTokens is the average answer length over families and levels
// (translations counted as 60 tokens), weighted by frequency.
func meanOutTokens() float64 {
	var s, n float64
	for _, f := range families {
		t := float64(f.outTokens)
		if t == 0 {
			t = 60
		}
		s += f.weight * t
		n += f.weight
	}
	var lvl float64
	for l, p := range levelProbs {
		lvl += float64(l) * p
	}
	return s / n * (1 + 0.3*lvl)
}

func (w *World) genModels(r *rand.Rand) {
	M, K := w.Config.Models, w.Config.Skills
	type model struct {
		g, ability, verbosity, in, out float64
		theta                          []float64
		specialty                      string
	}
	ms := make([]model, M)
	for i := range ms {
		m := &ms[i]
		m.g = abilityMean + abilitySD*r.NormFloat64()
		m.theta = make([]float64, K)
		for k := range m.theta {
			m.theta[k] = m.g + skillSD*r.NormFloat64()
		}
		m.verbosity = math.Exp(verbositySD * r.NormFloat64())
	}
	// Specialists: some of the weaker 60% get a boost in one skill, so
	// that cheap models can be strong at one thing.
	byG := make([]int, M)
	for i := range byG {
		byG[i] = i
	}
	slices.SortStableFunc(byG, func(a, b int) int { return cmpFloat(ms[a].g, ms[b].g) })
	weak := byG[:max(1, M*6/10)]
	nSpec := 0
	boost := func(i int) {
		k := r.IntN(K)
		ms[i].theta[k] += 1.0 + 0.8*r.Float64()
		ms[i].specialty = w.Truth.Skills[k]
		nSpec++
	}
	for _, i := range weak {
		if chance(r, specialistP) {
			boost(i)
		}
	}
	if nSpec == 0 && M >= 4 {
		boost(pick(r, weak))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range ms {
		var s float64
		for _, t := range ms[i].theta {
			s += t
		}
		ms[i].ability = s / float64(K)
		lo, hi = math.Min(lo, ms[i].ability), math.Max(hi, ms[i].ability)
	}
	for i := range ms {
		u := 0.5
		if hi > lo {
			u = (ms[i].ability - lo) / (hi - lo)
		}
		u = clamp01(u + priceNoise*r.NormFloat64())
		lp := math.Log(minInputPrice) + u*(math.Log(maxInputPrice)-math.Log(minInputPrice))
		ms[i].in = round3(math.Exp(lp))
		ms[i].out = round3(ms[i].in * pick(r, []float64{2, 3, 4, 4}))
	}
	order := make([]int, M)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmpFloat(ms[a].in, ms[b].in); c != 0 {
			return c
		}
		return cmpFloat(ms[a].ability, ms[b].ability)
	})
	used := map[string]bool{}
	meanOut := meanOutTokens()
	for rank, i := range order {
		m := ms[i]
		vendor := pick(r, vendors)
		tier := tiers[rank*len(tiers)/M]
		name := "synth-" + vendor + "-" + tier
		for n := 2; used[name]; n++ {
			name = "synth-" + vendor + "-" + tier + "-" + strconv.Itoa(n)
		}
		used[name] = true
		in, out := m.in, m.out
		w.Models = append(w.Models, data.ModelInfo{
			Name:         name,
			InputPrice:   &in,
			OutputPrice:  &out,
			OutputTokens: int(math.Round(meanOut * m.verbosity)),
			Extra:        map[string]any{"vendor": vendor, "tier": tier, "synthetic": true},
		})
		w.Truth.Models = append(w.Truth.Models, ModelTruth{
			Name: name, Theta: m.theta, Ability: m.ability, Verbosity: m.verbosity, Specialty: m.specialty,
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// genPrompts draws the prompts and their truth; it returns the family
// index of each prompt.
func (w *World) genPrompts(r *rand.Rand) []int {
	n, K := w.Config.Prompts, w.Config.Skills
	offs := make([]int64, n)
	for i := range offs {
		offs[i] = r.Int64N(int64(Span / time.Second))
	}
	slices.Sort(offs)
	w.Prompts = make([]Prompt, n)
	w.Truth.Prompts = make(map[string]PromptTruth, n)
	fams := make([]int, n)
	weights := make([]float64, len(families))
	var sumV, sumV2, sumH, sumH2 float64
	for i, off := range offs {
		u := float64(off) / float64(Span/time.Second)
		// Family mix drifts: code families grow from 0.5x to 1.5x.
		var tot float64
		for j, f := range families {
			weights[j] = f.weight
			if f.code {
				weights[j] *= 0.5 + u
			}
			tot += weights[j]
		}
		x := r.Float64() * tot
		fi := 0
		for fi < len(families)-1 && x >= weights[fi] {
			x -= weights[fi]
			fi++
		}
		f := families[fi]
		y, level := r.Float64(), 0
		for level < 3 && y >= levelProbs[level] {
			y -= levelProbs[level]
			level++
		}
		var text, id string
		var extra float64
		for try := 0; ; try++ {
			text, extra = f.gen(r, level)
			text = frame(r, text)
			if try >= 50 {
				text += fmt.Sprintf(" (variant %d)", try-49)
			}
			id = data.PromptIDOf(text)
			if _, dup := w.Truth.Prompts[id]; !dup {
				break
			}
		}
		visible := f.base + levelStep*(float64(level)-1.25) + extraStep*(clamp01(extra)-0.5)
		hidden := hiddenSD * r.NormFloat64()
		alpha := math.Exp(discrimMean + discrimSD*r.NormFloat64())
		mix := skillMix(fi, K)
		var s float64
		for k, m := range mix {
			if m > 0 {
				mix[k] = m * math.Exp(mixJitterSD*r.NormFloat64())
				s += mix[k]
			}
		}
		for k := range mix {
			mix[k] *= alpha / s
		}
		w.Prompts[i] = Prompt{ID: id, Text: text, Family: f.name, Time: w.Config.Start.Add(time.Duration(off) * time.Second)}
		w.Truth.Prompts[id] = PromptTruth{
			Family: f.name, Difficulty: visible + hidden, Visible: visible, Hidden: hidden,
			Level: level, Discrimination: mix,
		}
		fams[i] = fi
		sumV += visible
		sumV2 += visible * visible
		sumH += hidden
		sumH2 += hidden * hidden
	}
	nf := float64(n)
	varV := sumV2/nf - (sumV/nf)*(sumV/nf)
	varH := sumH2/nf - (sumH/nf)*(sumH/nf)
	if varV+varH > 0 {
		w.Truth.HiddenShare = varH / (varV + varH)
	}
	return fams
}

// outputTokens draws the length of a model's answer to a prompt.
func outputTokens(r *rand.Rand, f family, level, inTokens int, verbosity float64) int {
	base := float64(f.outTokens) * (1 + 0.3*float64(level))
	if f.outTokens == 0 { // translation: about as long as the input
		base = 1.2*float64(inTokens) + 10
	}
	t := math.Round(base * verbosity * math.Exp(outLenSD*r.NormFloat64()-outLenSD*outLenSD/2))
	return int(math.Max(1, t))
}

func (w *World) genOutcomes(r *rand.Rand, fams []int) {
	M := len(w.Models)
	cov := w.Config.Coverage
	w.Outcomes = make([]data.Outcome, 0, int(math.Ceil(float64(len(w.Prompts)*M)*cov))+2*len(w.Prompts))
	answer := make([]bool, M)
	for i, p := range w.Prompts {
		f := families[fams[i]]
		pt := w.Truth.Prompts[p.ID]
		n := 0
		for j := range answer {
			answer[j] = cov >= 1 || r.Float64() < cov
			if answer[j] {
				n++
			}
		}
		for n < 2 {
			if j := r.IntN(M); !answer[j] {
				answer[j] = true
				n++
			}
		}
		inTok := int(math.Ceil(float64(utf8.RuneCountInString(p.Text)) / data.CharsPerToken))
		for j, m := range w.Models {
			if !answer[j] {
				continue
			}
			mt := w.Truth.Models[j]
			prob := sigmoid(pt.Logit(mt))
			var score float64
			if f.graded {
				q := math.Min(math.Max(prob, 1e-3), 1-1e-3)
				score = math.Round(10*beta(r, q*betaPrecision, (1-q)*betaPrecision)) / 10
			} else if r.Float64() < prob {
				score = 1
			}
			out := outputTokens(r, f, pt.Level, inTok, mt.Verbosity)
			cost := (float64(inTok)**m.InputPrice + float64(out)**m.OutputPrice) / 1e6
			w.Outcomes = append(w.Outcomes, data.Outcome{
				PromptID: p.ID,
				Prompt:   p.Text,
				Model:    m.Name,
				Score:    score,
				Cost:     cost,
				HasCost:  true,
				Task:     p.Family,
				Time:     p.Time.Add(time.Duration(r.Int64N(1800)) * time.Second),
			})
		}
	}
}

func (w *World) genBattles(r *rand.Rand) {
	n, M := w.Config.Battles, len(w.Models)
	// Models ranked by overall ability, for close matchups.
	rank := make([]int, M) // rank -> model index
	for i := range rank {
		rank[i] = i
	}
	slices.SortStableFunc(rank, func(a, b int) int {
		return cmpFloat(w.Truth.Models[a].Ability, w.Truth.Models[b].Ability)
	})
	pos := make([]int, M) // model index -> rank
	for p, i := range rank {
		pos[i] = p
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = r.IntN(len(w.Prompts))
	}
	slices.Sort(idx)
	w.Battles = make([]data.Battle, 0, n)
	for _, pi := range idx {
		p := w.Prompts[pi]
		pt := w.Truth.Prompts[p.ID]
		a := r.IntN(M)
		var b int
		if chance(r, 0.5) { // any opponent
			b = r.IntN(M - 1)
			if b >= a {
				b++
			}
		} else { // a close opponent: within 2 ranks
			lo, hi := max(0, pos[a]-2), min(M-1, pos[a]+2)
			for {
				b = rank[between(r, lo, hi)]
				if b != a {
					break
				}
			}
		}
		if chance(r, 0.5) {
			a, b = b, a
		}
		// Answer quality: a logistic-noise draw around the model's logit,
		// so quality >= 0.5 ("correct") with probability P(correct).
		qa := sigmoid(pt.Logit(w.Truth.Models[a]) + logistic(r))
		qb := sigmoid(pt.Logit(w.Truth.Models[b]) + logistic(r))
		var win data.Winner
		switch {
		case math.Abs(qa-qb) < tieMargin && qa < bothBadBelow && qb < bothBadBelow:
			win = data.TieBothBad
		case math.Abs(qa-qb) < tieMargin:
			win = data.Tie
		case qa > qb:
			win = data.WinnerA
		default:
			win = data.WinnerB
		}
		w.Battles = append(w.Battles, data.Battle{
			PromptID: p.ID,
			Prompt:   p.Text,
			ModelA:   w.Models[a].Name,
			ModelB:   w.Models[b].Name,
			Winner:   win,
			Task:     p.Family,
			Judge:    "synthetic",
			Language: "English",
			Turn:     1,
			Time:     p.Time.Add(time.Duration(r.Int64N(6*3600)) * time.Second),
		})
	}
	slices.SortStableFunc(w.Battles, func(x, y data.Battle) int { return x.Time.Compare(y.Time) })
}
