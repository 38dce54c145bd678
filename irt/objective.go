package irt

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/floats"
)

// The parameter vector x of the optimisers is laid out as
//
//	[ Theta (M*K, row-major) | A (K*D, row-major) | A0 (K) | W (D) | W0 ]
type layout struct {
	M, K, D                  int
	theta, a, a0, w, w0, len int
}

func newLayout(m, k, d int) layout {
	l := layout{M: m, K: k, D: d}
	l.theta = 0
	l.a = m * k
	l.a0 = l.a + k*d
	l.w = l.a0 + k
	l.w0 = l.w + d
	l.len = l.w0 + 1
	return l
}

// promptRec is one prompt with its responses resp[start:end].
type promptRec struct {
	row        int // row of the prompt's embedding in dataset.emb
	start, end int
}

// dataset holds the responses grouped by prompt, the embeddings converted to
// float64 once.
type dataset struct {
	D      int
	emb    []float64 // rows of length D
	model  []int32
	score  []float64
	train  []promptRec
	val    []promptRec
	nTrain int // responses in train
	nVal   int
}

// objective evaluates the regularised mean log-loss and its gradient. The
// prompts are cut into a fixed number of chunks, each with its own gradient
// buffer, and the chunk results are summed in order: results do not depend
// on the number of workers or on scheduling.
type objective struct {
	l       layout
	ds      *dataset
	l2      float64 // on A and W
	l2Theta float64 // on Theta
	workers int

	bufs   [][]float64 // per-chunk gradient buffers
	losses []float64
}

const maxChunks = 32

func newObjective(l layout, ds *dataset, l2, l2Theta float64, workers int) *objective {
	o := &objective{l: l, ds: ds, l2: l2, l2Theta: l2Theta, workers: workers}
	o.bufs = make([][]float64, maxChunks)
	for i := range o.bufs {
		o.bufs[i] = make([]float64, l.len)
	}
	o.losses = make([]float64, maxChunks)
	return o
}

// loss returns the mean (unregularised) log-loss of prompts at x, and, if
// grad is non-nil, writes the gradient of the regularised objective into
// grad and returns the regularised objective instead. n is the number of
// responses in prompts (the divisor of the mean).
func (o *objective) eval(x, grad []float64, prompts []promptRec, n int) float64 {
	if n == 0 {
		if grad != nil {
			for i := range grad {
				grad[i] = 0
			}
		}
		return 0
	}
	chunks := maxChunks
	if len(prompts) < chunks {
		chunks = len(prompts)
	}
	workers := o.workers
	if workers > chunks {
		workers = chunks
	}
	if workers < 1 {
		workers = 1
	}
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for c := 0; c < chunks; c++ {
		next <- c
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				lo := c * len(prompts) / chunks
				hi := (c + 1) * len(prompts) / chunks
				var g []float64
				if grad != nil {
					g = o.bufs[c]
					for i := range g {
						g[i] = 0
					}
				}
				o.losses[c] = o.chunk(x, g, prompts[lo:hi])
			}
		}()
	}
	wg.Wait()
	loss := 0.0
	for c := 0; c < chunks; c++ {
		loss += o.losses[c]
	}
	inv := 1 / float64(n)
	loss *= inv
	if grad == nil {
		return loss
	}
	copy(grad, o.bufs[0])
	for c := 1; c < chunks; c++ {
		floats.Add(grad, o.bufs[c])
	}
	floats.Scale(inv, grad)
	l := o.l
	// L2 penalties.
	th := x[l.theta:l.a]
	aw := x[l.a:l.a0]
	w := x[l.w:l.w0]
	loss += 0.5 * o.l2Theta * floats.Dot(th, th)
	loss += 0.5 * o.l2 * (floats.Dot(aw, aw) + floats.Dot(w, w))
	floats.AddScaled(grad[l.theta:l.a], o.l2Theta, th)
	floats.AddScaled(grad[l.a:l.a0], o.l2, aw)
	floats.AddScaled(grad[l.w:l.w0], o.l2, w)
	return loss
}

// chunk returns the summed log-loss of prompts and, if g is non-nil, adds
// the summed gradient to g.
func (o *objective) chunk(x, g []float64, prompts []promptRec) float64 {
	l := o.l
	K, D := l.K, l.D
	var ubuf, abuf, gabuf [MaxDims]float64
	u, a, ga := ubuf[:K], abuf[:K], gabuf[:K]
	theta := x[l.theta:l.a]
	A := x[l.a:l.a0]
	a0 := x[l.a0:l.w]
	w := x[l.w:l.w0]
	w0 := x[l.w0]
	ds := o.ds
	loss := 0.0
	for _, pr := range prompts {
		e := ds.emb[pr.row*D : (pr.row+1)*D]
		for j := 0; j < K; j++ {
			u[j] = floats.Dot(A[j*D:(j+1)*D], e) + a0[j]
			a[j] = softplus(u[j])
		}
		b := floats.Dot(w, e) + w0
		for j := range ga {
			ga[j] = 0
		}
		gb := 0.0
		for r := pr.start; r < pr.end; r++ {
			m := int(ds.model[r])
			th := theta[m*K : (m+1)*K]
			z := dotK(a, th) - b
			y := ds.score[r]
			loss += softplus(z) - y*z
			if g == nil {
				continue
			}
			res := sigmoid(z) - y
			gth := g[l.theta+m*K : l.theta+(m+1)*K]
			for j := 0; j < K; j++ {
				gth[j] += res * a[j]
				ga[j] += res * th[j]
			}
			gb -= res
		}
		if g == nil {
			continue
		}
		for j := 0; j < K; j++ {
			du := ga[j] * sigmoid(u[j])
			floats.AddScaled(g[l.a+j*D:l.a+(j+1)*D], du, e)
			g[l.a0+j] += du
		}
		floats.AddScaled(g[l.w:l.w0], gb, e)
		g[l.w0] += gb
	}
	return loss
}

// predict calls fn with the predicted probability and the score of every
// response of prompts at x.
func (o *objective) predict(x []float64, prompts []promptRec, fn func(p, y float64)) {
	l := o.l
	K, D := l.K, l.D
	var abuf [MaxDims]float64
	a := abuf[:K]
	theta := x[l.theta:l.a]
	A := x[l.a:l.a0]
	ds := o.ds
	for _, pr := range prompts {
		e := ds.emb[pr.row*D : (pr.row+1)*D]
		for j := 0; j < K; j++ {
			a[j] = softplus(floats.Dot(A[j*D:(j+1)*D], e) + x[l.a0+j])
		}
		b := floats.Dot(x[l.w:l.w0], e) + x[l.w0]
		for r := pr.start; r < pr.end; r++ {
			m := int(ds.model[r])
			fn(sigmoid(dotK(a, theta[m*K:(m+1)*K])-b), ds.score[r])
		}
	}
}

// logLoss is the binary cross-entropy of a soft target y at probability p,
// clamped away from log(0).
func logLoss(p, y float64) float64 {
	const eps = 1e-15
	p = math.Min(math.Max(p, eps), 1-eps)
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}
