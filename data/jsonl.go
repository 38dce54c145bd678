package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// maxLine is the longest JSONL line accepted (64 MiB).
const maxLine = 64 << 20

// A batch of lines decoded together by one worker ends at jsonlBatch
// lines or jsonlBatchBytes bytes, whichever comes first.
const (
	jsonlBatch      = 512
	jsonlBatchBytes = 256 << 10
)

// jsonlSource reads JSON Lines, one object a line, blank lines ignored.
// A producer goroutine reads lines in batches, workers decode batches in
// parallel, and next hands rows on in file order. Memory stays bounded:
// at most a few batches per worker are in flight.
type jsonlSource struct {
	file    string
	rc      io.ReadCloser
	batches chan *lineBatch // in file order
	stop    chan struct{}
	wg      sync.WaitGroup
	cur     *lineBatch
	i       int
	first   []string // the keys of the first good line
	ok      bool     // the last error was a bad line, not a read error
	closed  bool
}

type decodedLine struct {
	row  mapRow
	line int
	err  error
}

type lineBatch struct {
	buf   []byte
	spans [][2]int // of buf
	nums  []int    // line numbers
	out   []decodedLine
	err   error // a read error after these lines (terminal)
	done  chan struct{}
}

func newJSONLSource(file string, rc io.ReadCloser) (*jsonlSource, error) {
	workers := runtime.GOMAXPROCS(0)
	s := &jsonlSource{file: file, rc: rc, batches: make(chan *lineBatch, workers+1), stop: make(chan struct{})}
	work := make(chan *lineBatch, workers)
	s.wg.Add(1 + workers)
	go s.produce(work)
	for w := 0; w < workers; w++ {
		go func() {
			defer s.wg.Done()
			for b := range work {
				b.decode(file)
			}
		}()
	}
	// The keys come from the first good line, when next reaches it: a bad
	// first line is an error of its line, skipped like any other.
	return s, nil
}

// produce reads lines into batches and hands each batch both to the
// workers and, in order, to next.
func (s *jsonlSource) produce(work chan<- *lineBatch) {
	defer s.wg.Done()
	defer close(work)
	defer close(s.batches)
	sc := bufio.NewScanner(s.rc)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	line := 0
	b := &lineBatch{done: make(chan struct{})}
	send := func(b *lineBatch) bool {
		select {
		case s.batches <- b:
		case <-s.stop:
			return false
		}
		select {
		case work <- b:
		case <-s.stop:
			return false
		}
		return true
	}
	for sc.Scan() {
		line++
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		start := len(b.buf)
		b.buf = append(b.buf, t...)
		b.spans = append(b.spans, [2]int{start, len(b.buf)})
		b.nums = append(b.nums, line)
		if len(b.nums) == jsonlBatch || len(b.buf) >= jsonlBatchBytes {
			size := min(len(b.buf), jsonlBatchBytes) // b belongs to a worker once sent
			if !send(b) {
				return
			}
			b = &lineBatch{done: make(chan struct{}), buf: make([]byte, 0, size)}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			b.err = &ParseError{File: s.file, Line: line + 1, Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		} else {
			b.err = fmt.Errorf("reading %s: %w", s.file, err)
		}
	}
	if len(b.nums) > 0 || b.err != nil {
		send(b)
	}
}

func (b *lineBatch) decode(file string) {
	b.out = make([]decodedLine, len(b.nums))
	for i, sp := range b.spans {
		m, err := decodeObject(b.buf[sp[0]:sp[1]])
		d := decodedLine{row: m, line: b.nums[i]}
		if err != nil {
			d.err = &ParseError{File: file, Line: b.nums[i], Err: err}
		}
		b.out[i] = d
	}
	b.buf, b.spans = nil, nil
	close(b.done)
}

func (s *jsonlSource) read() (decodedLine, error) {
	for s.cur == nil || s.i >= len(s.cur.out) {
		if s.cur != nil && s.cur.err != nil {
			s.ok = false
			err := s.cur.err
			s.cur.err = nil
			return decodedLine{}, err
		}
		b, ok := <-s.batches
		if !ok {
			return decodedLine{}, io.EOF
		}
		<-b.done
		s.cur, s.i = b, 0
	}
	d := s.cur.out[s.i]
	s.cur.out[s.i] = decodedLine{}
	s.i++
	if d.err != nil {
		s.ok = true
		return d, d.err
	}
	return d, nil
}

// keys returns the keys of the first good line, once next has returned it.
func (s *jsonlSource) keys() []string { return s.first }

func (s *jsonlSource) next() (getter, int, error) {
	d, err := s.read()
	if err != nil {
		return nil, d.line, err
	}
	if s.first == nil {
		s.first = mapKeys(d.row)
	}
	return d.row, d.line, nil
}

func (s *jsonlSource) recoverable() bool { return s.ok }

// Close stops the goroutines and closes the file.
func (s *jsonlSource) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.stop)
	// Drain until the producer, seeing stop, closes the channel; then the
	// workers finish the batches in flight. The file is closed only then,
	// so no read races the close.
	for range s.batches {
	}
	s.wg.Wait()
	return s.rc.Close()
}
