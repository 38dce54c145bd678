package irt

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// lbfgs minimises f from x (updated in place) with limited-memory BFGS
// (memory m, two-loop recursion) and a weak-Wolfe bisection line search.
// fg returns f(z) and writes its gradient into g; an error from fg (a
// cancelled context) aborts. After every iteration, step(iter, x, f) is
// called; it returns true to stop. It returns the iterations done and
// why it stopped, unless step asked to.
//
// gonum's optimize package would do, but it pulls in a dependency that
// the module does not have; this is the textbook algorithm (Nocedal and
// Wright, algorithms 7.4 and 7.5, with the scaling γ = sᵀy / yᵀy).
func lbfgs(x []float64, fg func(z, g []float64) (float64, error), maxIter, m int, step func(iter int, x []float64, f float64) bool) (int, string, error) {
	n := len(x)
	g := make([]float64, n)
	f, err := fg(x, g)
	if err != nil {
		return 0, "", err
	}
	s := make([][]float64, m)
	y := make([][]float64, m)
	for i := range s {
		s[i] = make([]float64, n)
		y[i] = make([]float64, n)
	}
	rho := make([]float64, m)
	alpha := make([]float64, m)
	d := make([]float64, n)
	xt := make([]float64, n)
	gt := make([]float64, n)
	stored, head := 0, 0 // head: next slot
	for iter := 1; iter <= maxIter; iter++ {
		gnorm := floats.Norm(g, 2)
		if gnorm <= 1e-10 {
			return iter - 1, "converged: gradient vanished", nil
		}
		// d = -H g by the two-loop recursion.
		copy(d, g)
		for k := 0; k < stored; k++ {
			i := (head - 1 - k + m) % m
			alpha[i] = rho[i] * floats.Dot(s[i], d)
			floats.AddScaled(d, -alpha[i], y[i])
		}
		if stored > 0 {
			i := (head - 1 + m) % m
			floats.Scale(floats.Dot(s[i], y[i])/floats.Dot(y[i], y[i]), d)
		} else {
			floats.Scale(1/gnorm, d) // first step of unit length
		}
		for k := stored - 1; k >= 0; k-- {
			i := (head - 1 - k + m) % m
			beta := rho[i] * floats.Dot(y[i], d)
			floats.AddScaled(d, alpha[i]-beta, s[i])
		}
		floats.Scale(-1, d)
		dg := floats.Dot(d, g)
		if !(dg < 0) {
			// Not a descent direction: restart from steepest descent.
			stored = 0
			copy(d, g)
			floats.Scale(-1/gnorm, d)
			dg = floats.Dot(d, g)
		}
		// Weak Wolfe line search by bracketing and bisection.
		const c1, c2 = 1e-4, 0.9
		lo, hi, t := 0.0, math.Inf(1), 1.0
		ok := false
		var ft float64
		for ls := 0; ls < 40; ls++ {
			floats.AddScaledTo(xt, x, t, d)
			ft, err = fg(xt, gt)
			if err != nil {
				return iter, "", err
			}
			switch {
			case math.IsNaN(ft) || ft > f+c1*t*dg:
				hi = t
				t = (lo + hi) / 2
			case floats.Dot(gt, d) < c2*dg:
				lo = t
				if math.IsInf(hi, 1) {
					t *= 2
				} else {
					t = (lo + hi) / 2
				}
			default:
				ok = true
			}
			if ok {
				break
			}
		}
		if !ok {
			if !(ft < f) {
				if stored == 0 {
					return iter - 1, "converged: line search found no decrease", nil
				}
				stored = 0 // retry from steepest descent
				iter--
				continue
			}
		}
		// Update the memory with s = xt - x, y = gt - g.
		floats.SubTo(s[head], xt, x)
		floats.SubTo(y[head], gt, g)
		sy := floats.Dot(s[head], y[head])
		if sy > 1e-12*floats.Dot(y[head], y[head]) {
			rho[head] = 1 / sy
			head = (head + 1) % m
			if stored < m {
				stored++
			}
		}
		copy(x, xt)
		copy(g, gt)
		f = ft
		if step(iter, x, f) {
			return iter, "", nil
		}
	}
	return maxIter, "stopped: MaxIter reached", nil
}
