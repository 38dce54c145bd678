package encoder

// Helpers of the router-task checks of the built-in encoder: ridge
// regression from embeddings to per-model scores, AUC, nearest-neighbour
// task agreement, a raw feature-hashing baseline, and the data sets.

import (
	"context"
	"fmt"
	"github.com/routekit/routekit/internal/sharedtest"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"

	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/mat"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/data/synth"
)

// routerSet is a router data set: prompts, their task family, and a
// prompt × model score matrix (only prompts that every model answered).
type routerSet struct {
	name    string
	prompts []string
	family  []string
	fine    []string // a finer label (synth: family and template level), or nil
	scores  [][]float64
	models  []string
	train   []bool // prompt-hash split
}

func (s *routerSet) trainPrompts() []string {
	var out []string
	for i, p := range s.prompts {
		if s.train[i] {
			out = append(out, p)
		}
	}
	return out
}

// fromOutcomes builds a routerSet from outcomes; task labels the family.
func fromOutcomes(name string, outs []data.Outcome, family func(o *data.Outcome) string, trainShare float64) *routerSet {
	s := &routerSet{name: name}
	idx := map[string]int{}
	midx := map[string]int{}
	for i := range outs {
		o := &outs[i]
		if _, ok := midx[o.Model]; !ok {
			midx[o.Model] = len(s.models)
			s.models = append(s.models, o.Model)
		}
	}
	for i := range outs {
		o := &outs[i]
		id := o.PromptID
		if id == "" {
			id = data.PromptIDOf(o.Prompt)
		}
		p, ok := idx[id]
		if !ok {
			p = len(s.prompts)
			idx[id] = p
			s.prompts = append(s.prompts, o.Prompt)
			s.family = append(s.family, family(o))
			row := make([]float64, len(s.models))
			for j := range row {
				row[j] = math.NaN()
			}
			s.scores = append(s.scores, row)
			s.train = append(s.train, data.HashUnit(7, id) < trainShare)
		}
		s.scores[p][midx[o.Model]] = o.Score
	}
	// Keep the prompts that every model answered.
	keep := 0
	for i := range s.prompts {
		full := true
		for _, y := range s.scores[i] {
			full = full && !math.IsNaN(y)
		}
		if full {
			s.prompts[keep], s.family[keep], s.scores[keep], s.train[keep] = s.prompts[i], s.family[i], s.scores[i], s.train[i]
			keep++
		}
	}
	s.prompts, s.family, s.scores, s.train = s.prompts[:keep], s.family[:keep], s.scores[:keep], s.train[:keep]
	return s
}

var (
	synthOnce sync.Once
	synthSet  *routerSet
	synthErr  error
)

// synthRouterSet is a synthetic world of 5000 prompts and 10 models,
// split 80/20 by prompt hash.
func synthRouterSet(t testing.TB) *routerSet {
	t.Helper()
	synthOnce.Do(func() {
		w, err := synth.Generate(synth.Config{Prompts: 5000, Models: 10, Battles: 1})
		if err != nil {
			synthErr = err
			return
		}
		fam := map[string]string{}
		for _, p := range w.Prompts {
			fam[p.ID] = p.Family
		}
		synthSet = fromOutcomes("synth", w.Outcomes, func(o *data.Outcome) string { return fam[o.PromptID] }, 0.8)
		for _, p := range synthSet.prompts {
			pt := w.Truth.Prompts[data.PromptIDOf(p)]
			synthSet.fine = append(synthSet.fine, fmt.Sprintf("%s/%d", pt.Family, pt.Level))
		}
	})
	if synthErr != nil {
		t.Fatal(synthErr)
	}
	return synthSet
}

// dcrouterSet is LLMRouter's dcrouter_train.json (5608 prompts, 9
// models, 14 tasks), split 80/20 by prompt hash.
func dcrouterSet(t testing.TB) *routerSet {
	t.Helper()
	dir := sharedtest.Dir(t)
	path := filepath.Join(dir, "llmrouter", "dcrouter_train.json")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: skipping", path)
	}
	ctx := context.Background()
	opt := data.Options{}
	if tm, err := data.LoadTaskMap(ctx, filepath.Join(dir, "llmrouter", "query_train.jsonl")); err == nil {
		opt.Tasks = tm
	}
	ds, _, err := data.ReadFiles(ctx, []string{path}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return fromOutcomes("dcrouter", ds.Outcomes, func(o *data.Outcome) string { return o.Task }, 0.8)
}

// rawHashing is the baseline: signed feature hashing of lowercased word
// unigrams into dim buckets, L2-normalised; no IDF, no SVD.
func rawHashing(texts []string, dim int) [][]float32 {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, dim)
		words := strings.FieldsFunc(strings.ToLower(t), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
		for _, w := range words {
			h := fnv.New64a()
			h.Write([]byte(w))
			x := fmix64(h.Sum64())
			if x>>63 == 0 {
				v[x%uint64(dim)]++
			} else {
				v[x%uint64(dim)]--
			}
		}
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if ss > 0 {
			for j := range v {
				v[j] /= float32(math.Sqrt(ss))
			}
		}
		out[i] = v
	}
	return out
}

// routerMetrics are held-out scores of ridge regressions from embeddings
// to per-model scores.
type routerMetrics struct {
	MSE, R2, AUC float64 // mean over models; R2 against the train mean
	KNN          float64 // share of test prompts whose nearest train prompt has the same family
	KNNFine      float64 // the same for the finer label
	Lambda       float64
}

// evalRouter fits, for each model, a ridge regression from the embedding
// (with intercept) to the score on the train prompts, the penalty chosen
// on an inner validation split, and measures it on the test prompts.
func evalRouter(s *routerSet, emb [][]float32) routerMetrics {
	var tr, te []int
	for i := range s.prompts {
		if s.train[i] {
			tr = append(tr, i)
		} else {
			te = append(te, i)
		}
	}
	// inner split of the train prompts: every 5th is validation.
	var fit, val []int
	for k, i := range tr {
		if k%5 == 4 {
			val = append(val, i)
		} else {
			fit = append(fit, i)
		}
	}
	inner := newRidge(s, emb, fit)
	best, bestMSE := 0.0, math.Inf(1)
	for _, lam := range []float64{0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100} {
		if m := inner.eval(lam, val); m.MSE < bestMSE {
			best, bestMSE = lam, m.MSE
		}
	}
	m := newRidge(s, emb, tr).eval(best, te)
	m.Lambda = best
	m.KNN = knnAgreement(s.family, emb, tr, te)
	if s.fine != nil {
		m.KNNFine = knnAgreement(s.fine, emb, tr, te)
	}
	return m
}

// ridge holds the centred Gram matrix of the embeddings of the train rows
// (every model answered every prompt of a routerSet) and the products
// with each model's centred scores.
type ridge struct {
	s    *routerSet
	emb  [][]float32
	xm   []float64 // mean embedding
	ym   []float64 // mean score per model
	gram *mat.SymDense
	xty  *mat.Dense // d × models
}

func newRidge(s *routerSet, emb [][]float32, rows []int) *ridge {
	d, nm := len(emb[0]), len(s.models)
	r := &ridge{s: s, emb: emb, xm: make([]float64, d), ym: make([]float64, nm)}
	for _, i := range rows {
		for c, v := range emb[i] {
			r.xm[c] += float64(v)
		}
		for j, y := range s.scores[i] {
			r.ym[j] += y
		}
	}
	for c := range r.xm {
		r.xm[c] /= float64(len(rows))
	}
	for j := range r.ym {
		r.ym[j] /= float64(len(rows))
	}
	x := mat.NewDense(len(rows), d, nil)
	y := mat.NewDense(len(rows), nm, nil)
	for k, i := range rows {
		for c, v := range emb[i] {
			x.Set(k, c, float64(v)-r.xm[c])
		}
		for j, sc := range s.scores[i] {
			y.Set(k, j, sc-r.ym[j])
		}
	}
	r.gram = mat.NewSymDense(d, nil)
	r.gram.SymOuterK(1, x.T())
	r.xty = mat.NewDense(d, nm, nil)
	r.xty.Mul(x.T(), y)
	return r
}

// eval fits the ridge regressions with penalty lam and measures them on
// the rows te: MSE and R2 against the train mean, and the AUC on the
// binary scores, averaged over models.
func (r *ridge) eval(lam float64, te []int) routerMetrics {
	d, nm := r.gram.SymmetricDim(), len(r.s.models)
	g := mat.NewSymDense(d, nil)
	g.CopySym(r.gram)
	for c := 0; c < d; c++ {
		g.SetSym(c, c, g.At(c, c)+lam)
	}
	var ch mat.Cholesky
	if !ch.Factorize(g) {
		panic("ridge: not positive definite")
	}
	var w mat.Dense
	if err := ch.SolveTo(&w, r.xty); err != nil {
		panic(err)
	}
	var mse, mse0, auc float64
	var nAUC int
	for j := 0; j < nm; j++ {
		var pred, lab []float64
		var e, e0 float64
		for _, i := range te {
			sc := r.s.scores[i][j]
			p := r.ym[j]
			for c, v := range r.emb[i] {
				p += (float64(v) - r.xm[c]) * w.At(c, j)
			}
			e += (p - sc) * (p - sc)
			e0 += (r.ym[j] - sc) * (r.ym[j] - sc)
			if sc == 0 || sc == 1 {
				pred = append(pred, p)
				lab = append(lab, sc)
			}
		}
		mse += e / float64(len(te))
		mse0 += e0 / float64(len(te))
		if a, ok := aucOf(pred, lab); ok {
			auc += a
			nAUC++
		}
	}
	m := routerMetrics{MSE: mse / float64(nm), R2: 1 - mse/mse0}
	if nAUC > 0 {
		m.AUC = auc / float64(nAUC)
	}
	return m
}

// aucOf is the area under the ROC curve of scores p for labels y in {0,1}
// (ties count half).
func aucOf(p, y []float64) (float64, bool) {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	var pos, neg, rankSum float64
	for k := 0; k < len(idx); {
		e := k
		for e < len(idx) && p[idx[e]] == p[idx[k]] {
			e++
		}
		r := float64(k+e+1) / 2 // mean 1-based rank
		for q := k; q < e; q++ {
			if y[idx[q]] == 1 {
				pos++
				rankSum += r
			} else {
				neg++
			}
		}
		k = e
	}
	if pos == 0 || neg == 0 {
		return 0, false
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg), true
}

// knnAgreement is the share of test prompts whose nearest train prompt
// (cosine) has the same family.
func knnAgreement(label []string, emb [][]float32, tr, te []int) float64 {
	hit, n := 0, 0
	var impl gonum.Implementation
	for _, i := range te {
		if label[i] == "" {
			continue
		}
		best, bj := math.Inf(-1), -1
		for _, j := range tr {
			dot := float64(impl.Sdot(len(emb[i]), emb[i], 1, emb[j], 1))
			if dot > best {
				best, bj = dot, j
			}
		}
		n++
		if label[bj] == label[i] {
			hit++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}
