package loadgen

import (
	"encoding/json"
	"math"
	"math/bits"
	"time"
)

// histogram counts durations in log-linear buckets of microseconds: one
// bucket per microsecond below 1,024 µs, then 512 buckets per power of
// two, so a bucket is at most 1/512 of its values wide. The counts grow
// on demand; the zero value is empty and ready to use. It is not safe for
// concurrent use: each worker keeps its own and they are merged.
type histogram struct {
	counts   []int64
	n        int64
	sum      time.Duration
	min, max time.Duration
}

const (
	subBits  = 10
	subCount = 1 << subBits // linear 1 µs buckets below this many µs
	halfSub  = subCount / 2 // buckets per power of two above
	maxUS    = 1 << 40      // larger values (12 days) are clamped
)

// bucketOf returns the bucket index of v µs.
func bucketOf(v int64) int {
	if v < subCount {
		return int(v)
	}
	if v >= maxUS {
		v = maxUS - 1
	}
	shift := bits.Len64(uint64(v)) - subBits // >= 1
	return subCount + (shift-1)*halfSub + int(v>>shift) - halfSub
}

// bucketRange returns the lowest value of bucket i and its width, in µs.
func bucketRange(i int) (low, width int64) {
	if i < subCount {
		return int64(i), 1
	}
	k := i - subCount
	shift := k/halfSub + 1
	m := int64(k%halfSub + halfSub)
	return m << shift, 1 << shift
}

// record adds one duration; negative durations count as zero.
func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := bucketOf(d.Microseconds())
	if i >= len(h.counts) {
		n := max(2*len(h.counts), i+1, 2*subCount)
		c := make([]int64, n)
		copy(c, h.counts)
		h.counts = c
	}
	h.counts[i]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

// merge adds the counts of o.
func (h *histogram) merge(o *histogram) {
	if o.n == 0 {
		return
	}
	if len(o.counts) > len(h.counts) {
		c := make([]int64, len(o.counts))
		copy(c, h.counts)
		h.counts = c
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the value at quantile q in [0, 1]: the middle of the
// bucket holding the ceil(q*n)-th smallest value, kept within [min, max].
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			low, width := bucketRange(i)
			v := time.Duration(low)*time.Microsecond + time.Duration(width)*time.Microsecond/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// summary summarises the histogram.
func (h *histogram) summary() Summary {
	s := Summary{Count: h.n}
	if h.n == 0 {
		return s
	}
	s.Min, s.Max = h.min, h.max
	s.Mean = h.sum / time.Duration(h.n)
	s.P50 = h.quantile(0.50)
	s.P90 = h.quantile(0.90)
	s.P99 = h.quantile(0.99)
	s.P999 = h.quantile(0.999)
	return s
}

// Summary describes a distribution of durations. The percentiles are
// exact to 1 µs below 1 ms and to 0.2% above.
type Summary struct {
	// Count is the number of values summarised; the other fields are zero
	// when it is.
	Count                               int64
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

// MarshalJSON writes the durations in microseconds: {"count", "min_us",
// "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}.
func (s Summary) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) float64 { return math.Round(float64(d)/1e2) / 10 }
	return json.Marshal(struct {
		Count int64   `json:"count"`
		Min   float64 `json:"min_us"`
		Mean  float64 `json:"mean_us"`
		P50   float64 `json:"p50_us"`
		P90   float64 `json:"p90_us"`
		P99   float64 `json:"p99_us"`
		P999  float64 `json:"p999_us"`
		Max   float64 `json:"max_us"`
	}{s.Count, us(s.Min), us(s.Mean), us(s.P50), us(s.P90), us(s.P99), us(s.P999), us(s.Max)})
}
