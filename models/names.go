package models

import (
	"encoding/binary"
	"fmt"
)

// maxNameLen bounds a model name in the binary scorer formats.
const maxNameLen = 1 << 12

// decodeNames reads n length-prefixed (uint32 little-endian) model names
// from the front of b and returns them with the bytes after them. It
// checks every length against what is left before slicing, so corrupt
// input gives an error, never a panic or a large allocation.
func decodeNames(b []byte, n uint64) ([]string, []byte, error) {
	if uint64(len(b)) < 4*n {
		return nil, nil, fmt.Errorf("truncated model names")
	}
	names := make([]string, n)
	for i := range names {
		if len(b) < 4 {
			return nil, nil, fmt.Errorf("truncated model names")
		}
		l := uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if l > maxNameLen || l > uint64(len(b)) {
			return nil, nil, fmt.Errorf("model name %d: length %d out of range", i, l)
		}
		names[i] = string(b[:l])
		b = b[l:]
	}
	return names, b, nil
}
