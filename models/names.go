package models

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
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

// checkNames checks a scorer's model names: between 1 and max of them,
// each non-empty valid UTF-8 of at most maxNameLen bytes, no two equal.
// Errors start with kind ("mf", "mlp").
func checkNames(kind string, names []string, max int) error {
	if len(names) < 1 || len(names) > max {
		return fmt.Errorf("%s: %d models, want 1 to %d", kind, len(names), max)
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
			return fmt.Errorf("%s: invalid model name %q (want non-empty UTF-8 of at most %d bytes)", kind, name, maxNameLen)
		}
		if seen[name] {
			return fmt.Errorf("%s: duplicate model name %q", kind, name)
		}
		seen[name] = true
	}
	return nil
}
