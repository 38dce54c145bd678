package eval

import (
	"math"
	"slices"
)

// Point is one (average cost per query in USD, average quality) pair.
type Point struct {
	Cost    float64
	Quality float64
}

// Hull returns the non-decreasing convex hull of points (RouterBench): the
// upper concave envelope from the cheapest point up to the cheapest point
// of highest quality, by increasing cost. Beyond its last point the hull
// is read as flat at the highest quality, and before its first point as
// flat at that point's quality (see HullArea). Points with equal cost keep
// only the best quality. Hull of no points is nil.
func Hull(points []Point) []Point {
	if len(points) == 0 {
		return nil
	}
	ps := slices.Clone(points)
	slices.SortFunc(ps, func(a, b Point) int {
		if c := cmpFloat(a.Cost, b.Cost); c != 0 {
			return c
		}
		return cmpFloat(b.Quality, a.Quality) // best quality first
	})
	ps = slices.CompactFunc(ps, func(a, b Point) bool { return a.Cost == b.Cost })
	// Cut after the first (cheapest) point of highest quality: the upper
	// hull beyond it falls, and the non-decreasing hull is flat there.
	best := 0
	for i, p := range ps {
		if p.Quality > ps[best].Quality {
			best = i
		}
	}
	ps = ps[:best+1]
	// Andrew's monotone chain, upper half: drop a middle point that is on
	// or below the chord of its neighbours.
	h := make([]Point, 0, len(ps))
	for _, p := range ps {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) >= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h
}

// cross is the z component of (b - a) x (c - a): positive when a, b, c
// turn left (b lies below the chord a-c).
func cross(a, b, c Point) float64 {
	return (b.Cost-a.Cost)*(c.Quality-a.Quality) - (b.Quality-a.Quality)*(c.Cost-a.Cost)
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

// hullAt reads a hull (as returned by Hull) at cost c: linear between its
// points, flat beyond its ends.
func hullAt(h []Point, c float64) float64 {
	if c <= h[0].Cost {
		return h[0].Quality
	}
	for j := 1; j < len(h); j++ {
		if c <= h[j].Cost {
			a, b := h[j-1], h[j]
			return a.Quality + (c-a.Cost)/(b.Cost-a.Cost)*(b.Quality-a.Quality)
		}
	}
	return h[len(h)-1].Quality
}

// HullArea returns the average height of hull h (as returned by Hull) over
// the cost interval [lo, hi]: its area there divided by hi - lo, reading h
// flat beyond its ends. For lo == hi it is the height at lo. It is NaN for
// an empty hull or hi < lo.
func HullArea(h []Point, lo, hi float64) float64 {
	if len(h) == 0 || hi < lo || math.IsNaN(lo) || math.IsNaN(hi) {
		return math.NaN()
	}
	if hi == lo {
		return hullAt(h, lo)
	}
	// Integrate exactly: the hull is linear between lo, its vertices
	// inside (lo, hi), and hi.
	xs := []float64{lo}
	for _, p := range h {
		if p.Cost > lo && p.Cost < hi {
			xs = append(xs, p.Cost)
		}
	}
	xs = append(xs, hi)
	var area float64
	for j := 1; j < len(xs); j++ {
		area += (xs[j] - xs[j-1]) * (hullAt(h, xs[j-1]) + hullAt(h, xs[j])) / 2
	}
	return area / (hi - lo)
}
