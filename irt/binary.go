package irt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unicode/utf8"
)

// Binary format (all integers and floats little-endian):
//
//	magic    [4]byte  "RKIR"
//	version  uint32   1
//	M        uint32   number of models, 1 to maxModels
//	K        uint32   latent dimension, 1 to MaxDims
//	D        uint32   embedding dimension, 1 to maxD
//	M times: name length uint32 (1 to maxName), then the UTF-8 name
//	Theta    M*K float64, row-major
//	A        K*D float64, row-major
//	A0       K float64
//	W        D float64
//	W0       float64
//	crc      uint32   CRC-32 (IEEE) of every preceding byte
//
// Every float must be finite and the names distinct.
const (
	binaryMagic   = "RKIR"
	binaryVersion = 1
	maxModels     = 1 << 16
	maxD          = 1 << 16
	maxName       = 1 << 10
)

// MarshalBinary encodes p in the format above.
func (p *Params) MarshalBinary() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if len(p.Models) > maxModels || p.D > maxD {
		return nil, fmt.Errorf("irt: too large to encode: %d models, D = %d", len(p.Models), p.D)
	}
	size := 4 + 4*4 + 8*(len(p.Models)*p.K+p.K*p.D+p.K+p.D+1) + 4
	for _, name := range p.Models {
		if len(name) > maxName {
			return nil, fmt.Errorf("irt: model name of %d bytes, at most %d can be encoded", len(name), maxName)
		}
		size += 4 + len(name)
	}
	b := make([]byte, 0, size)
	b = append(b, binaryMagic...)
	b = binary.LittleEndian.AppendUint32(b, binaryVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Models)))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.K))
	b = binary.LittleEndian.AppendUint32(b, uint32(p.D))
	for _, name := range p.Models {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(name)))
		b = append(b, name...)
	}
	f := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	for _, th := range p.Theta {
		for _, v := range th {
			f(v)
		}
	}
	for _, row := range p.A {
		for _, v := range row {
			f(v)
		}
	}
	for _, v := range p.A0 {
		f(v)
	}
	for _, v := range p.W {
		f(v)
	}
	f(p.W0)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return b, nil
}

// ErrCorrupt is wrapped by the errors of UnmarshalBinary for malformed input.
var ErrCorrupt = errors.New("irt: corrupt parameters")

// UnmarshalBinary decodes parameters written by MarshalBinary into p,
// replacing its contents. It rejects unknown versions and corrupt data with
// an error (wrapping ErrCorrupt for the latter) and leaves p unchanged
// then; it never panics.
func (p *Params) UnmarshalBinary(b []byte) error {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	if len(b) < 4+4*4+4 {
		return corrupt("%d bytes, too short for a header", len(b))
	}
	if string(b[:4]) != binaryMagic {
		return corrupt("bad magic %q, want %q", b[:4], binaryMagic)
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != binaryVersion {
		return fmt.Errorf("irt: unsupported parameter format version %d (this build reads version %d)", v, binaryVersion)
	}
	body := b[:len(b)-4]
	if got, want := crc32.ChecksumIEEE(body), binary.LittleEndian.Uint32(b[len(b)-4:]); got != want {
		return corrupt("checksum mismatch (%08x, want %08x)", got, want)
	}
	m := int(binary.LittleEndian.Uint32(b[8:]))
	k := int(binary.LittleEndian.Uint32(b[12:]))
	d := int(binary.LittleEndian.Uint32(b[16:]))
	switch {
	case m < 1 || m > maxModels:
		return corrupt("%d models, want 1 to %d", m, maxModels)
	case k < 1 || k > MaxDims:
		return corrupt("K = %d, want 1 to %d", k, MaxDims)
	case d < 1 || d > maxD:
		return corrupt("D = %d, want 1 to %d", d, maxD)
	}
	nFloats := m*k + k*d + k + d + 1
	rest := body[20:]
	// Each name takes at least 5 bytes; check the size before allocating.
	if len(rest) < 5*m+8*nFloats {
		return corrupt("%d bytes of names and values, too short for %d models, K = %d, D = %d", len(rest), m, k, d)
	}
	q := &Params{Models: make([]string, m), K: k, D: d}
	for i := range q.Models {
		if len(rest) < 4 {
			return corrupt("truncated in the model names")
		}
		n := int(binary.LittleEndian.Uint32(rest))
		rest = rest[4:]
		if n < 1 || n > maxName || n > len(rest) {
			return corrupt("model %d: name length %d, want 1 to %d within the data", i, n, maxName)
		}
		if !utf8.Valid(rest[:n]) {
			return corrupt("model %d: name is not valid UTF-8", i)
		}
		q.Models[i] = string(rest[:n])
		rest = rest[n:]
	}
	if len(rest) != 8*nFloats {
		return corrupt("%d bytes of values, want %d", len(rest), 8*nFloats)
	}
	vals := make([]float64, nFloats)
	for i := range vals {
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(rest[8*i:]))
	}
	l := newLayout(m, k, d)
	u := unpack(l, vals, q.Models)
	if err := u.check(); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	*p = *u
	return nil
}
