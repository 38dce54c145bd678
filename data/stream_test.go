package data

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// writeLines writes n lines made by line to path and returns its size.
func writeLines(t *testing.T, path string, n int, line func(w io.Writer, i int)) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		line(w, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// writeArenaJSONL writes n Chatbot Arena battles with long conversations.
func writeArenaJSONL(t *testing.T, path string, n int) int64 {
	t.Helper()
	answer := strings.Repeat("A long answer with many words. ", 60)
	return writeLines(t, path, n, func(w io.Writer, i int) {
		fmt.Fprintf(w, `{"question_id":"q%d","model_a":"m%d","model_b":"m%d","winner":"model_a","judge":"arena_user","turn":1,"language":"English","tstamp":%d,`+
			`"conversation_a":[{"role":"user","content":"prompt number %d: explain this"},{"role":"assistant","content":%q}],`+
			`"conversation_b":[{"role":"user","content":"prompt number %d: explain this"},{"role":"assistant","content":%q}]}`+"\n",
			i, i%7, (i+1)%7, 1700000000+i, i, answer, i, answer)
	})
}

// TestJSONLStreams checks that a large arena file is read as a stream:
// the first battle arrives before a small part of the file has been read,
// and the live heap stays far below the file's size.
func TestJSONLStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 100 MB file")
	}
	path := filepath.Join(t.TempDir(), "arena.jsonl")
	size := writeArenaJSONL(t, path, 25000) // ~100 MB
	var readAtFirst int64 = -1
	var done atomic.Int64 // Progress runs on the reader's goroutine
	var maxHeap uint64
	n := 0
	opt := Options{Progress: func(_ string, d, _ int64) { done.Store(d) }}
	h := Handler{Battle: func(b *Battle) error {
		if n == 0 {
			readAtFirst = done.Load()
		}
		n++
		if n%5000 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			maxHeap = max(maxHeap, ms.HeapAlloc)
		}
		return nil
	}}
	if err := NewReader(opt).Read(context.Background(), path, h); err != nil {
		t.Fatal(err)
	}
	if n != 25000 {
		t.Fatalf("read %d battles, want 25000", n)
	}
	// The read-ahead is a few 512-line batches per core plus buffers:
	// a few MB, against a 100 MB file.
	if readAtFirst < 0 || readAtFirst > size/10 {
		t.Errorf("the first battle arrived after %d of %d bytes: not streaming", readAtFirst, size)
	}
	if maxHeap > uint64(size/3) {
		t.Errorf("live heap reached %d bytes for a %d-byte file: not streaming", maxHeap, size)
	}
	t.Logf("file %d MB, first record after %d KB, max live heap %d MB", size>>20, readAtFirst>>10, maxHeap>>20)
}

// TestJSONLCloseEarly stops reading at the first record; the reader's
// goroutines must end and the file close (run under -race and leak
// checks).
func TestJSONLCloseEarly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arena.jsonl")
	writeArenaJSONL(t, path, 3000)
	stop := errors.New("stop")
	before := runtime.NumGoroutine()
	err := NewReader(Options{}).Read(context.Background(), path, Handler{Battle: func(*Battle) error { return stop }})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the handler's error", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// Goroutines wind down after Close returns.
	for i := 0; i < 200 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines after the read, %d before", g, before)
	}
}

// TestContextCancel stops a read when the context ends.
func TestContextCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arena.jsonl")
	writeArenaJSONL(t, path, 3000)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := NewReader(Options{}).Read(ctx, path, Handler{Battle: func(*Battle) error {
		n++
		if n == 10 {
			cancel()
		}
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v after %d battles, want context.Canceled", err, n)
	}
}

// writeLongPromptArena writes n arena battles, each with its own prompt of
// about promptLen bytes and short answers: the prompts are most of the file.
func writeLongPromptArena(t *testing.T, path string, n, promptLen int) int64 {
	t.Helper()
	words := strings.Repeat("Explain In Detail why the sky is blue ", promptLen/38+1)[:promptLen]
	return writeLines(t, path, n, func(w io.Writer, i int) {
		prompt := fmt.Sprintf("Prompt %d: %s", i, words)
		fmt.Fprintf(w, `{"model_a":"m%d","model_b":"m%d","winner":"tie","conversation_a":[{"role":"user","content":%q},{"role":"assistant","content":"ok"}],`+
			`"conversation_b":[{"role":"user","content":%q},{"role":"assistant","content":"fine"}]}`+"\n", i%7, (i+1)%7, prompt, prompt)
	})
}

// TestJSONLStreamsDedup: de-duplication ("routekit data import"'s default)
// keeps a fixed-size key per distinct prompt, not the prompt's text: the
// live heap of a read with Dedup exceeds that of one without by far less
// than the text of the distinct prompts (comparing the two leaves out the
// read-ahead, which grows with the cores).
func TestJSONLStreamsDedup(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 36 MB file")
	}
	const n, promptLen = 6000, 3000
	path := filepath.Join(t.TempDir(), "arena.jsonl")
	size := writeLongPromptArena(t, path, n, promptLen)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// grown reads the file and returns the most the live heap grew.
	grown := func(opt Options) uint64 {
		before := heap()
		var most uint64
		got := 0
		rd := NewReader(opt)
		h := Handler{Battle: func(*Battle) error {
			got++
			if got%2000 == 0 || got == n { // the Reader's sets are live here
				most = max(most, heap())
			}
			return nil
		}}
		if err := rd.Read(context.Background(), path, h); err != nil {
			t.Fatal(err)
		}
		if got != n || rd.Report().Prompts() != n {
			t.Fatalf("read %d battles of %d prompts, want %d of %d", got, rd.Report().Prompts(), n, n)
		}
		return most - min(before, most)
	}
	plain, dedup := grown(Options{}), grown(Options{Dedup: true})
	// Keeping the normalised text would add n*promptLen = 17 MB; the
	// hashes and prompt numbers add about 1 MB.
	extra := dedup - min(plain, dedup)
	if text := uint64(n * promptLen); extra > text/4 {
		t.Errorf("Dedup grew the live heap by %d MB more than a plain read, for %d MB of distinct prompts: the prompts' text is kept", extra>>20, text>>20)
	}
	t.Logf("file %d MB, distinct prompt text %d MB; live heap grew %.1f MB plain, %.1f MB with Dedup",
		size>>20, (n*promptLen)>>20, float64(plain)/(1<<20), float64(dedup)/(1<<20))
}
