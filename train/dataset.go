package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models/encoder"
)

// Pair is one battle by index: Outcome is 1 when A won, 0 when B won and
// 0.5 for a tie.
type Pair struct {
	Prompt, A, B int
	Outcome      float64
}

// Point is one graded answer by index.
type Point struct {
	Prompt, Model int
	Score         float64
}

// Dataset is training data in index form: the prompts, the candidate
// models, graded answers (Points) and battles (Pairs) by index, and each
// model's expected cost per query. A Dataset is read-only once built.
type Dataset struct {
	Models  []string
	Prompts []string // prompt ids
	Texts   []string // prompt texts, by prompt
	Points  []Point
	Pairs   []Pair
	// Costs is each model's expected cost per query in USD: the mean of
	// the recorded costs, else the catalog's price for the mean prompt.
	Costs []float64
	// PointCosts holds, per point, its recorded cost (NaN when unknown).
	PointCosts []float64
	// Fingerprint is the hex SHA-256 of the records in the order added.
	Fingerprint string
}

// Builder collects records into a Dataset. It is not safe for concurrent
// use.
type Builder struct {
	ds       Dataset
	prompt   map[string]int
	model    map[string]int
	costSum  []float64
	costN    []int
	chars    int
	selfDrop int
	hash     hash.Hash
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{prompt: map[string]int{}, model: map[string]int{}, hash: sha256.New()}
}

func (b *Builder) promptIndex(id, text string) int {
	i, ok := b.prompt[id]
	if !ok {
		i = len(b.ds.Prompts)
		b.prompt[id] = i
		b.ds.Prompts = append(b.ds.Prompts, id)
		b.ds.Texts = append(b.ds.Texts, text)
		b.chars += utf8.RuneCountInString(text)
	}
	return i
}

func (b *Builder) modelIndex(name string) int {
	i, ok := b.model[name]
	if !ok {
		i = len(b.ds.Models)
		b.model[name] = i
		b.ds.Models = append(b.ds.Models, name)
		b.costSum = append(b.costSum, 0)
		b.costN = append(b.costN, 0)
	}
	return i
}

// Handler returns a data.Handler adding outcomes and battles.
func (b *Builder) Handler() data.Handler {
	return data.Handler{Outcome: b.AddOutcome, Battle: b.AddBattle}
}

// AddOutcome adds a graded answer.
func (b *Builder) AddOutcome(o *data.Outcome) error {
	fmt.Fprintf(b.hash, "o\x00%s\x00%s\x00%s\x00%v\x00%v\x00%v\n", o.PromptID, o.Prompt, o.Model, o.Score, o.HasCost, o.Cost)
	p, m := b.promptIndex(o.PromptID, o.Prompt), b.modelIndex(o.Model)
	b.ds.Points = append(b.ds.Points, Point{Prompt: p, Model: m, Score: o.Score})
	c := math.NaN()
	if o.HasCost {
		c = o.Cost
		b.costSum[m] += o.Cost
		b.costN[m]++
	}
	b.ds.PointCosts = append(b.ds.PointCosts, c)
	return nil
}

// AddBattle adds a battle; a self-battle is dropped (it says nothing).
func (b *Builder) AddBattle(bt *data.Battle) error {
	fmt.Fprintf(b.hash, "b\x00%s\x00%s\x00%s\x00%s\x00%s\n", bt.PromptID, bt.Prompt, bt.ModelA, bt.ModelB, bt.Winner)
	if bt.ModelA == bt.ModelB {
		b.selfDrop++
		return nil
	}
	p := b.promptIndex(bt.PromptID, bt.Prompt)
	pair := Pair{Prompt: p, A: b.modelIndex(bt.ModelA), B: b.modelIndex(bt.ModelB)}
	switch bt.Winner {
	case data.WinnerA:
		pair.Outcome = 1
	case data.WinnerB:
		pair.Outcome = 0
	default:
		pair.Outcome = 0.5
	}
	b.ds.Pairs = append(b.ds.Pairs, pair)
	return nil
}

// Build returns the dataset. Models are sorted by name (indices are
// remapped), so equal data gives equal datasets whatever the file order.
// Every model needs a cost: recorded in the data or priced by cat; a
// model with neither is an error, never free.
func (b *Builder) Build(cat *data.Catalog) (*Dataset, error) {
	ds := b.ds
	if len(ds.Prompts) == 0 {
		return nil, errors.New("no training records")
	}
	if len(ds.Models) < 2 {
		return nil, fmt.Errorf("%d model in the data; routing needs at least 2", len(ds.Models))
	}
	order := make([]int, len(ds.Models))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return ds.Models[order[i]] < ds.Models[order[j]] })
	newIdx := make([]int, len(order))
	models := make([]string, len(order))
	costs := make([]float64, len(order))
	meanChars := b.chars / len(ds.Prompts)
	for to, from := range order {
		newIdx[from] = to
		models[to] = ds.Models[from]
		switch {
		case b.costN[from] > 0:
			costs[to] = b.costSum[from] / float64(b.costN[from])
		case cat != nil:
			mi, ok := cat.Lookup(models[to])
			if !ok {
				return nil, fmt.Errorf("model %s: no cost in the data and %w", models[to], data.ErrUnknownModel)
			}
			c, err := mi.QueryCost(meanChars)
			if err != nil {
				return nil, err
			}
			costs[to] = c
		default:
			return nil, fmt.Errorf("model %s has no cost in the data: give a catalog with its price", models[to])
		}
	}
	points := make([]Point, len(ds.Points))
	for i, p := range ds.Points {
		p.Model = newIdx[p.Model]
		points[i] = p
	}
	pairs := make([]Pair, len(ds.Pairs))
	for i, p := range ds.Pairs {
		p.A, p.B = newIdx[p.A], newIdx[p.B]
		pairs[i] = p
	}
	ds.Models, ds.Costs, ds.Points, ds.Pairs = models, costs, points, pairs
	ds.Fingerprint = hex.EncodeToString(b.hash.Sum(nil))
	return &ds, nil
}

// SelfBattles is the number of self-battles dropped.
func (b *Builder) SelfBattles() int { return b.selfDrop }

// Embed returns one embedding per prompt, from the cache where it has
// them.
func (d *Dataset) Embed(ctx context.Context, enc encoder.Encoder, cache *encoder.Cache, cfg encoder.EmbedConfig) ([][]float32, int, error) {
	return encoder.Embed(ctx, enc, cache, d.Prompts, d.Texts, cfg)
}

// SplitPrompts assigns each prompt to train or validation by a seeded
// hash of its id: valFraction of the prompts validate.
func (d *Dataset) SplitPrompts(valFraction float64, seed uint64) (isVal []bool) {
	isVal = make([]bool, len(d.Prompts))
	for i, id := range d.Prompts {
		isVal[i] = data.HashUnit(seed, id) < valFraction
	}
	return isVal
}

// ScoreMatrix returns [prompt][model] scores (NaN where a model did not
// answer) for the given prompts, and the matching recorded costs (NaN
// where unknown).
func (d *Dataset) ScoreMatrix(prompts []int) (scores, costs [][]float64) {
	row := make(map[int]int, len(prompts))
	scores = make([][]float64, len(prompts))
	costs = make([][]float64, len(prompts))
	for r, p := range prompts {
		row[p] = r
		scores[r] = make([]float64, len(d.Models))
		costs[r] = make([]float64, len(d.Models))
		for m := range scores[r] {
			scores[r][m], costs[r][m] = math.NaN(), math.NaN()
		}
	}
	for i, pt := range d.Points {
		if r, ok := row[pt.Prompt]; ok {
			scores[r][pt.Model] = pt.Score
			costs[r][pt.Model] = d.PointCosts[i]
		}
	}
	return scores, costs
}
