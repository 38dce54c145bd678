package data

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// openTextProgress opens a text file as openText does and, when fn is not
// nil, reports progress through it in bytes of the file as stored: for a
// .gz or .zst file the compressed bytes read of the compressed size, so
// the total is known. fn is called once on opening, with done 0.
func openTextProgress(path string, fn func(file string, done, total int64)) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var plain io.ReadCloser = f
	if fn != nil {
		plain = newProgressReader(path, f, fn)
		fn(path, 0, plain.(*progressReader).total)
	}
	lower := strings.ToLower(path)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		zr, err := gzip.NewReader(bufio.NewReaderSize(plain, 1<<16))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, nil
	case strings.HasSuffix(lower, ".zst"):
		zr, err := zstd.NewReader(plain, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: zstd: %w", path, err)
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, closerFunc(func() error { zr.Close(); return f.Close() })}, nil
	}
	return plain, nil
}
