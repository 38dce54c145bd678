package encoder

// axpyInt8 adds alpha·x to y (len(y) ≥ len(x)), x a row of the
// quantised projection. The amd64 build runs it with AVX2 where the CPU
// has it; both ways give the same bits, each product rounded to float32
// before the add (no fused multiply-add).
func axpyInt8(alpha float32, x []int8, y []float32) {
	n := len(x)
	if n >= 32 && useAVX2 {
		m := n &^ 31
		axpyInt8AVX2(alpha, x[:m], y[:m])
		x, y = x[m:], y[m:]
	}
	axpyInt8Generic(alpha, x, y)
}

func axpyInt8Generic(alpha float32, x []int8, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		// The explicit conversion keeps the compiler from fusing the
		// multiply and the add, which would change the last bits.
		y[i] += float32(alpha * float32(v))
	}
}
