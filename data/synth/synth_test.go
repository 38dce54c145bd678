package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/routekit/routekit/internal/sharedtest"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/routekit/routekit/data"
)

// small is the configuration of most tests: the default world with fewer
// prompts and battles.
var small = Config{Prompts: 2000, Battles: 4000}

var (
	smallOnce  sync.Once
	smallWorld *World
	smallErr   error
)

// smallW returns the (shared, read-only) world of small.
func smallW(t *testing.T) *World {
	t.Helper()
	smallOnce.Do(func() { smallWorld, smallErr = Generate(small) })
	if smallErr != nil {
		t.Fatalf("Generate(%+v): %v", small, smallErr)
	}
	return smallWorld
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeterminism(t *testing.T) {
	w1 := smallW(t)
	w2, err := Generate(small)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w1, w2); diff != "" {
		t.Fatalf("same config, different worlds (-first +second):\n%.2000s", diff)
	}
	if !bytes.Equal(mustJSON(t, w1), mustJSON(t, w2)) {
		t.Fatal("same config, different JSON encodings")
	}

	cfg := small
	cfg.Seed = 2
	w3, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(w1.Models, w3.Models) {
		t.Error("seeds 1 and 2 gave the same models")
	}
	if reflect.DeepEqual(w1.Prompts, w3.Prompts) {
		t.Error("seeds 1 and 2 gave the same prompts")
	}
	same := 0
	for i := range w1.Outcomes {
		if w1.Outcomes[i].PromptID == w3.Outcomes[i].PromptID {
			same++
		}
	}
	if same > len(w1.Outcomes)/100 {
		t.Errorf("seeds 1 and 2 share %d of %d outcome prompt ids", same, len(w1.Outcomes))
	}

	// Seed 0 means the default seed 1.
	cfg.Seed = 0
	w0, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(w0.Prompts, w1.Prompts) {
		t.Error("seed 0 does not mean seed 1")
	}
}

func TestStagesIndependent(t *testing.T) {
	w1 := smallW(t)
	cfg := small
	cfg.Battles = 10
	w2, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(w2.Battles) != 10 {
		t.Fatalf("got %d battles, want 10", len(w2.Battles))
	}
	if !reflect.DeepEqual(w1.Outcomes, w2.Outcomes) || !reflect.DeepEqual(w1.Truth, w2.Truth) {
		t.Error("changing Battles changed the outcomes or the truth")
	}
}

func TestDefaults(t *testing.T) {
	d := DefaultConfig()
	want := Config{Seed: 1, Models: 20, Prompts: 20000, Skills: 4, Coverage: 1, Battles: 20000,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("DefaultConfig() = %+v, want %+v", d, want)
	}
	if got := (Config{}).withDefaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Config{}.withDefaults() = %+v, want %+v", got, want)
	}
	w := smallW(t)
	c := w.Config
	if c.Seed != 1 || c.Models != 20 || c.Skills != 4 || c.Coverage != 1 || !c.Start.Equal(want.Start) || c.Prompts != 2000 || c.Battles != 4000 {
		t.Errorf("World.Config = %+v, want the defaults with 2000 prompts and 4000 battles", c)
	}
	if !slices.Equal(w.Truth.Skills, []string{"math", "code", "knowledge", "language"}) {
		t.Errorf("skills = %v", w.Truth.Skills)
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Models: 1}, "Models"},
		{Config{Models: -3}, "Models"},
		{Config{Prompts: -1}, "Prompts"},
		{Config{Skills: -1}, "Skills"},
		{Config{Skills: 17}, "Skills"},
		{Config{Coverage: -0.5}, "Coverage"},
		{Config{Coverage: 1.5}, "Coverage"},
		{Config{Coverage: math.NaN()}, "Coverage"},
		{Config{Battles: -1}, "Battles"},
	}
	for _, c := range bad {
		err := c.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v.Validate() = %v, want an error about %s", c.cfg, err, c.want)
		}
		if w, err := Generate(c.cfg); err == nil || w != nil {
			t.Errorf("Generate(%+v) = %v, %v; want an error", c.cfg, w, err)
		}
	}
	good := []Config{{}, DefaultConfig(), {Models: 2, Prompts: 1, Skills: 1, Coverage: 0.01, Battles: 1}, {Skills: 16, Coverage: 1}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v, want nil", c, err)
		}
	}
	// Every invalid field is reported.
	err := Config{Models: 1, Skills: 99}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Models") || !strings.Contains(err.Error(), "Skills") {
		t.Errorf("two bad fields: got %v", err)
	}
}

func TestCounts(t *testing.T) {
	w := smallW(t)
	if len(w.Models) != 20 || len(w.Truth.Models) != 20 {
		t.Errorf("got %d models (%d in truth), want 20", len(w.Models), len(w.Truth.Models))
	}
	if len(w.Prompts) != 2000 || len(w.Truth.Prompts) != 2000 {
		t.Errorf("got %d prompts (%d in truth), want 2000", len(w.Prompts), len(w.Truth.Prompts))
	}
	if len(w.Outcomes) != 2000*20 {
		t.Errorf("got %d outcomes, want %d", len(w.Outcomes), 2000*20)
	}
	if len(w.Battles) != 4000 {
		t.Errorf("got %d battles, want 4000", len(w.Battles))
	}

	cfg := small
	cfg.Coverage = 0.5
	cfg.Models = 10
	h, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	full := 2000 * 10
	if n := len(h.Outcomes); n < full*45/100 || n > full*55/100 {
		t.Errorf("coverage 0.5: got %d outcomes, want about %d", n, full/2)
	}
	per := map[string]map[string]bool{}
	for _, o := range h.Outcomes {
		if per[o.PromptID] == nil {
			per[o.PromptID] = map[string]bool{}
		}
		if per[o.PromptID][o.Model] {
			t.Fatalf("prompt %s answered twice by %s", o.PromptID, o.Model)
		}
		per[o.PromptID][o.Model] = true
	}
	if len(per) != 2000 {
		t.Errorf("coverage 0.5: %d prompts have outcomes, want 2000", len(per))
	}
	for id, ms := range per {
		if len(ms) < 2 {
			t.Fatalf("prompt %s has %d answering models, want at least 2", id, len(ms))
		}
	}

	// Tiny coverage still gives every prompt two answers.
	cfg.Coverage = 0.01
	cfg.Prompts = 300
	tiny, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tiny.Outcomes) < 600 || len(tiny.Outcomes) > 700 {
		t.Errorf("coverage 0.01: got %d outcomes for 300 prompts, want about 600", len(tiny.Outcomes))
	}
}

func TestRecords(t *testing.T) {
	w := smallW(t)
	cat, err := w.Catalog()
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	minIn, maxOut := math.Inf(1), 0.0
	for i, m := range w.Models {
		if !m.Priced() || *m.InputPrice <= 0 || *m.OutputPrice < *m.InputPrice {
			t.Errorf("model %s: bad prices %v/%v", m.Name, m.InputPrice, m.OutputPrice)
			continue
		}
		if i > 0 && *m.InputPrice < *w.Models[i-1].InputPrice {
			t.Errorf("models not in order of input price at %s", m.Name)
		}
		if !strings.HasPrefix(m.Name, "synth-") || w.Truth.Models[i].Name != m.Name {
			t.Errorf("model %d: name %q, truth name %q", i, m.Name, w.Truth.Models[i].Name)
		}
		minIn, maxOut = math.Min(minIn, *m.InputPrice), math.Max(maxOut, *m.OutputPrice)
	}
	if minIn > 0.2 || maxOut < 10 || maxOut > 60 {
		t.Errorf("prices span %v to %v USD/1M, want roughly 0.05 to 30", minIn, maxOut)
	}

	ids := map[string]bool{}
	texts := map[string]bool{}
	fams := map[string]bool{}
	for _, f := range Families() {
		fams[f] = true
	}
	end := w.Config.Start.Add(Span)
	for i, p := range w.Prompts {
		if ids[p.ID] {
			t.Fatalf("duplicate prompt id %s", p.ID)
		}
		ids[p.ID] = true
		norm := data.NormalizePrompt(p.Text)
		if texts[norm] {
			t.Fatalf("duplicate prompt %q", p.Text)
		}
		texts[norm] = true
		if p.ID != data.PromptIDOf(p.Text) {
			t.Errorf("prompt %d: id %s, want PromptIDOf = %s", i, p.ID, data.PromptIDOf(p.Text))
		}
		if n := utf8.RuneCountInString(p.Text); n < 20 || n > 800 {
			t.Errorf("prompt %d has %d characters: %q", i, n, p.Text)
		}
		if !fams[p.Family] || w.Truth.Prompts[p.ID].Family != p.Family {
			t.Errorf("prompt %d: family %q, truth %q", i, p.Family, w.Truth.Prompts[p.ID].Family)
		}
		if p.Time.Before(w.Config.Start) || !p.Time.Before(end) {
			t.Errorf("prompt %d: time %v outside the window", i, p.Time)
		}
		if i > 0 && p.Time.Before(w.Prompts[i-1].Time) {
			t.Errorf("prompts not in time order at %d", i)
		}
	}

	graded := map[string]bool{}
	for _, f := range w.Truth.Families {
		graded[f.Name] = f.Graded
	}
	nonBinary := 0
	for i, o := range w.Outcomes {
		if o.Score < 0 || o.Score > 1 || math.IsNaN(o.Score) {
			t.Fatalf("outcome %d: score %v", i, o.Score)
		}
		if graded[o.Task] {
			if math.Abs(o.Score*10-math.Round(o.Score*10)) > 1e-9 {
				t.Fatalf("outcome %d: graded score %v not a multiple of 0.1", i, o.Score)
			}
			if o.Score != 0 && o.Score != 1 {
				nonBinary++
			}
		} else if o.Score != 0 && o.Score != 1 {
			t.Fatalf("outcome %d (%s): score %v, want 0 or 1", i, o.Task, o.Score)
		}
		if !o.HasCost || !(o.Cost > 0) {
			t.Fatalf("outcome %d: cost %v (HasCost %v)", i, o.Cost, o.HasCost)
		}
		if _, ok := cat.Lookup(o.Model); !ok {
			t.Fatalf("outcome %d: model %q not in the catalog", i, o.Model)
		}
		if !ids[o.PromptID] || data.PromptIDOf(o.Prompt) != o.PromptID || o.Task == "" || o.Time.IsZero() {
			t.Fatalf("outcome %d: bad prompt fields %+v", i, o)
		}
		// The input tokens alone cost at least this much.
		m, _ := cat.Lookup(o.Model)
		in := math.Ceil(float64(utf8.RuneCountInString(o.Prompt)) / data.CharsPerToken)
		if o.Cost < in**m.InputPrice/1e6 {
			t.Fatalf("outcome %d: cost %v below the input cost", i, o.Cost)
		}
	}
	if nonBinary == 0 {
		t.Error("graded families have only 0/1 scores")
	}

	// Costs vary per row and agree on average with the catalog's estimate.
	for _, m := range cat.Models {
		var got, est float64
		costs := map[float64]bool{}
		for _, o := range w.Outcomes {
			if o.Model == m.Name {
				got += o.Cost
				c, err := cat.Cost(o.Model, o.Prompt)
				if err != nil {
					t.Fatal(err)
				}
				est += c
				costs[o.Cost] = true
			}
		}
		if r := got / est; r < 0.6 || r > 1.6 {
			t.Errorf("model %s: total cost %v, catalog estimate %v", m.Name, got, est)
		}
		if len(costs) < 500 {
			t.Errorf("model %s: only %d distinct costs", m.Name, len(costs))
		}
	}
}

func TestModelRanking(t *testing.T) {
	w := smallW(t)
	sum := map[string]float64{}
	n := map[string]float64{}
	for _, o := range w.Outcomes {
		sum[o.Model] += o.Score
		n[o.Model]++
	}
	var emp, truth []float64
	for _, m := range w.Truth.Models {
		emp = append(emp, sum[m.Name]/n[m.Name])
		truth = append(truth, m.Ability)
		var s float64
		for _, th := range m.Theta {
			s += th
		}
		if math.Abs(s/float64(len(m.Theta))-m.Ability) > 1e-12 {
			t.Errorf("model %s: ability %v is not the mean of theta %v", m.Name, m.Ability, m.Theta)
		}
	}
	rho := sharedtest.Spearman(emp, truth)
	t.Logf("Spearman(empirical mean score, true ability) = %.3f", rho)
	if rho < 0.9 {
		t.Errorf("Spearman(empirical mean score, true ability) = %.3f, want >= 0.9", rho)
	}
	// Accuracies are spread: the best model is much better than the worst.
	lo, hi := slices.Min(emp), slices.Max(emp)
	if hi-lo < 0.3 || hi > 0.99 || lo < 0.01 {
		t.Errorf("mean scores range %.3f..%.3f, want a realistic spread", lo, hi)
	}
	// Price rises with ability, but not perfectly.
	var price []float64
	for _, m := range w.Models {
		price = append(price, *m.InputPrice)
	}
	if rho := sharedtest.Spearman(price, truth); rho < 0.5 || rho > 0.999 {
		t.Errorf("Spearman(price, ability) = %.3f, want clearly positive but noisy", rho)
	}
}

func TestPromptDifficulty(t *testing.T) {
	w := smallW(t)
	sum := map[string]float64{}
	n := map[string]float64{}
	for _, o := range w.Outcomes {
		sum[o.PromptID] += o.Score
		n[o.PromptID]++
	}
	var mean, diff []float64
	for _, p := range w.Prompts {
		mean = append(mean, sum[p.ID]/n[p.ID])
		diff = append(diff, w.Truth.Prompts[p.ID].Difficulty)
	}
	r := sharedtest.Pearson(mean, diff)
	t.Logf("corr(per-prompt mean score, difficulty) = %.3f", r)
	if r > -0.5 {
		t.Errorf("corr(per-prompt mean score, difficulty) = %.3f, want < -0.5", r)
	}
}

func TestTextRevealsDifficulty(t *testing.T) {
	w := smallW(t)
	var lvlSum [4]float64
	var lvlN [4]float64
	var hard, easy []float64
	markers := []string{"rigorous", "prove", "edge case", "multi-step", "o(n log n)", "step by step", "constraint", "justify"}
	for _, p := range w.Prompts {
		pt := w.Truth.Prompts[p.ID]
		if math.Abs(pt.Visible+pt.Hidden-pt.Difficulty) > 1e-12 {
			t.Fatalf("difficulty %v != visible %v + hidden %v", pt.Difficulty, pt.Visible, pt.Hidden)
		}
		lvlSum[pt.Level] += pt.Difficulty
		lvlN[pt.Level]++
		low := strings.ToLower(p.Text)
		if slices.ContainsFunc(markers, func(m string) bool { return strings.Contains(low, m) }) {
			hard = append(hard, pt.Difficulty)
		} else {
			easy = append(easy, pt.Difficulty)
		}
	}
	for l := 1; l < 4; l++ {
		if lvlSum[l]/lvlN[l] < lvlSum[l-1]/lvlN[l-1]+0.5 {
			t.Errorf("mean difficulty of level %d (%.2f) not clearly above level %d (%.2f)",
				l, lvlSum[l]/lvlN[l], l-1, lvlSum[l-1]/lvlN[l-1])
		}
	}
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	if len(hard) < 200 || mean(hard) < mean(easy)+1 {
		t.Errorf("%d prompts with hard markers have mean difficulty %.2f vs %.2f for the rest", len(hard), mean(hard), mean(easy))
	}
	if s := w.Truth.HiddenShare; s < 0.2 || s > 0.4 {
		t.Errorf("hidden share of difficulty variance = %.3f, want about 0.3", s)
	}
}

func TestDrift(t *testing.T) {
	w := smallW(t)
	q := len(w.Prompts) / 4
	share := func(ps []Prompt) float64 {
		n := 0
		for _, p := range ps {
			if p.Family == FamilyCodeWriting || p.Family == FamilyCodeDebugging {
				n++
			}
		}
		return float64(n) / float64(len(ps))
	}
	first, last := share(w.Prompts[:q]), share(w.Prompts[3*q:])
	if last < 1.4*first {
		t.Errorf("code share %.3f in the first quarter, %.3f in the last: want clear drift", first, last)
	}
	span := w.Prompts[len(w.Prompts)-1].Time.Sub(w.Prompts[0].Time)
	if span < 55*24*time.Hour || span > Span {
		t.Errorf("prompts span %v, want about 60 days", span)
	}
}

func TestBattles(t *testing.T) {
	w := smallW(t)
	ability := map[string]float64{}
	for _, m := range w.Truth.Models {
		ability[m.Name] = m.Ability
	}
	var ties, bothBad, decisive, strongerWins, close, far int
	for i, b := range w.Battles {
		if !b.Winner.Valid() || b.ModelA == b.ModelB || b.Judge != "synthetic" || b.Language != "English" ||
			b.Turn != 1 || b.Task == "" || b.Time.IsZero() || b.PromptID != data.PromptIDOf(b.Prompt) {
			t.Fatalf("battle %d: bad record %+v", i, b)
		}
		if _, ok := w.Truth.Prompts[b.PromptID]; !ok {
			t.Fatalf("battle %d: unknown prompt", i)
		}
		if i > 0 && b.Time.Before(w.Battles[i-1].Time) {
			t.Fatalf("battles not in time order at %d", i)
		}
		if d := math.Abs(ability[b.ModelA] - ability[b.ModelB]); d < 0.3 {
			close++
		} else if d > 1 {
			far++
		}
		if b.Winner.IsTie() {
			ties++
			if b.Winner == data.TieBothBad {
				bothBad++
			}
			continue
		}
		pa, ok1 := w.Truth.PCorrect(b.ModelA, b.PromptID)
		pb, ok2 := w.Truth.PCorrect(b.ModelB, b.PromptID)
		if !ok1 || !ok2 {
			t.Fatalf("battle %d: PCorrect unknown", i)
		}
		if pa == pb {
			continue
		}
		decisive++
		if (pa > pb) == (b.Winner == data.WinnerA) {
			strongerWins++
		}
	}
	n := float64(len(w.Battles))
	t.Logf("ties %.3f (both bad %.3f), stronger wins %.3f of decisive, close %.2f far %.2f",
		float64(ties)/n, float64(bothBad)/n, float64(strongerWins)/float64(decisive), float64(close)/n, float64(far)/n)
	if share := float64(ties) / n; share < 0.05 || share > 0.3 {
		t.Errorf("tie share %.3f, want between 0.05 and 0.3", share)
	}
	if bothBad == 0 || bothBad == ties {
		t.Errorf("%d of %d ties are both-bad, want some of each kind", bothBad, ties)
	}
	if rate := float64(strongerWins) / float64(decisive); rate <= 0.6 {
		t.Errorf("truly stronger model wins %.3f of decisive battles, want > 0.6", rate)
	}
	if float64(close) < 0.15*n || float64(far) < 0.15*n {
		t.Errorf("%d close and %d far matchups of %v, want both common", close, far, n)
	}
	// Order within a pair is random.
	aStronger := 0
	for _, b := range w.Battles {
		if ability[b.ModelA] > ability[b.ModelB] {
			aStronger++
		}
	}
	if f := float64(aStronger) / n; f < 0.45 || f > 0.55 {
		t.Errorf("model A is the stronger in %.3f of battles, want about half", f)
	}
}

func TestSkills(t *testing.T) {
	for _, k := range []int{1, 2, 3, 5, 8, 16} {
		w, err := Generate(Config{Skills: k, Prompts: 600, Models: 5, Battles: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Truth.Skills) != k || w.Truth.Skills[k-1] != fmt.Sprintf("skill_%d", k) {
			t.Errorf("k=%d: skills %v", k, w.Truth.Skills)
		}
		for _, m := range w.Truth.Models {
			if len(m.Theta) != k {
				t.Fatalf("k=%d: model %s has %d abilities", k, m.Name, len(m.Theta))
			}
		}
		load := make([]float64, k)
		for id, p := range w.Truth.Prompts {
			if len(p.Discrimination) != k {
				t.Fatalf("k=%d: prompt %s has %d discriminations", k, id, len(p.Discrimination))
			}
			var s float64
			for j, a := range p.Discrimination {
				if a < 0 || math.IsNaN(a) {
					t.Fatalf("k=%d: negative discrimination %v", k, p.Discrimination)
				}
				s += a
				load[j] += a
			}
			if s < 0.5 || s > 5 {
				t.Errorf("k=%d: total discrimination %v", k, s)
			}
		}
		for _, f := range w.Truth.Families {
			var s float64
			for _, m := range f.Mix {
				s += m
			}
			if len(f.Mix) != k || math.Abs(s-1) > 1e-9 {
				t.Errorf("k=%d: family %s mix %v", k, f.Name, f.Mix)
			}
		}
		if k <= 8 {
			for j, l := range load {
				if l == 0 {
					t.Errorf("k=%d: skill %d is used by no prompt", k, j+1)
				}
			}
		}
	}
}

func TestWriteTruth(t *testing.T) {
	w, err := Generate(Config{Prompts: 200, Battles: 10})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "truth.json")
	if err := w.WriteTruth(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("\n  \"skills\": [")) {
		t.Errorf("truth is not indented JSON:\n%.200s", b)
	}
	var got Truth
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w.Truth, got); diff != "" {
		t.Errorf("truth changed in a JSON round trip (-want +got):\n%.2000s", diff)
	}
	if err := w.WriteTruth(filepath.Join(t.TempDir(), "missing", "truth.json")); err == nil {
		t.Error("WriteTruth to a missing directory: no error")
	}
}

func TestCatalogIsACopy(t *testing.T) {
	w, err := Generate(Config{Prompts: 10, Battles: 10, Models: 3})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := w.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cat.Names(), []string{w.Models[0].Name, w.Models[1].Name, w.Models[2].Name}) {
		t.Fatalf("catalog names %v", cat.Names())
	}
	before := *w.Models[0].InputPrice
	*cat.Models[0].InputPrice = 999
	if *w.Models[0].InputPrice != before {
		t.Error("changing the catalog changed the world")
	}
}

func BenchmarkGenerateDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTextHelpers(t *testing.T) {
	for _, c := range []struct {
		coef []int
		want string
	}{
		{[]int{1, -3, -18, 0}, "x^3 - 3x^2 - 18x"},
		{[]int{7, -9, 17}, "7x^2 - 9x + 17"},
		{[]int{1, 0, -1}, "x^2 - 1"},
		{[]int{-1, 1, 0}, "-x^2 + x"},
		{[]int{0, 0}, "0"},
	} {
		if got := poly(c.coef...); got != c.want {
			t.Errorf("poly(%v) = %q, want %q", c.coef, got, c.want)
		}
	}
	if got := joinAnd([]string{"a", "b", "c"}); got != "a, b and c" {
		t.Errorf("joinAnd = %q", got)
	}
	if articleFor(82) != "an" || articleFor(72) != "a" || articleFor(8) != "an" {
		t.Error("articleFor")
	}
}
