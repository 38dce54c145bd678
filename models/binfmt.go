package models

// Helpers shared by the MF ("RKMF") and MLP ("RKML") binary formats: a
// frame of a 4-byte magic, a little-endian uint16 version, a fixed-size
// header and a trailing CRC-32 (IEEE) of everything before it; model
// names as uint32 length and bytes.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
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

// appendNames appends names as uint32 length and bytes each.
func appendNames(buf []byte, names []string) []byte {
	for _, name := range names {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(name)))
		buf = append(buf, name...)
	}
	return buf
}

// namesSize is the encoded size of names.
func namesSize(names []string) int {
	n := 0
	for _, name := range names {
		n += 4 + len(name)
	}
	return n
}

// checkFrame checks data's magic, version (at bytes 4-5), minimum size
// (header bytes and the checksum) and trailing checksum, and returns the
// bytes before the checksum.
func checkFrame(data []byte, magic string, version uint16, header int) ([]byte, error) {
	if len(data) < header+4 || string(data[:4]) != magic {
		return nil, fmt.Errorf("missing %q header", magic)
	}
	le := binary.LittleEndian
	if v := le.Uint16(data[4:]); v != version {
		return nil, fmt.Errorf("unsupported version %d (want %d)", v, version)
	}
	body, sum := data[:len(data)-4], le.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("checksum mismatch")
	}
	return body, nil
}
