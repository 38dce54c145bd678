package encoder

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2

// axpyInt8AVX2 adds alpha·x to y, 32 values at a time: len(x) is a
// multiple of 32 and len(y) ≥ len(x).
//
//go:noescape
func axpyInt8AVX2(alpha float32, x []int8, y []float32)

// prefetchInt8 asks the CPU to bring x into its caches, without waiting
// for it (a prefetch never faults, whatever the address).
//
//go:noescape
func prefetchInt8(x []int8)
