package serve

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/routekit/routekit/data"
)

// DecisionLogConfig configures the decision log (formats.md §7): one JSON
// line per routing decision, readable by the data package's "decisions"
// layout, rotated by size and by UTC day. A zero Path disables the log.
type DecisionLogConfig struct {
	// Path is the live file; it must end in ".jsonl". Rotated files are
	// renamed to <base>-YYYYMMDDTHHMMSS.jsonl beside it, stamped with the
	// UTC time of the rotation (a "-N" suffix when that name is taken).
	Path string `yaml:"path"`
	// MaxBytes rotates the file before a line would make it larger;
	// default 100 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxFiles is the number of rotated files kept; older ones are
	// deleted. Default 10.
	MaxFiles int `yaml:"max_files"`
	// IncludePrompt logs the prompt text; by default only its hash.
	IncludePrompt bool `yaml:"include_prompt"`
	// FlushInterval bounds how long a line stays buffered; default 1 s.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// Decision log defaults.
const (
	defaultLogMaxBytes      = 100 << 20
	defaultLogMaxFiles      = 10
	defaultLogFlushInterval = time.Second
)

func (c DecisionLogConfig) withDefaults() DecisionLogConfig {
	if c.MaxBytes == 0 {
		c.MaxBytes = defaultLogMaxBytes
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = defaultLogMaxFiles
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = defaultLogFlushInterval
	}
	return c
}

// Validate checks the configuration.
func (c DecisionLogConfig) Validate() error {
	if c.Path == "" {
		return nil
	}
	if filepath.Ext(c.Path) != ".jsonl" {
		return fmt.Errorf("decision_log.path: %q must end in .jsonl (the data readers detect the format from it)", c.Path)
	}
	if c.MaxBytes < 0 {
		return fmt.Errorf("decision_log.max_bytes: %d < 0", c.MaxBytes)
	}
	if c.MaxFiles < 0 {
		return fmt.Errorf("decision_log.max_files: %d < 0", c.MaxFiles)
	}
	if c.FlushInterval < 0 {
		return fmt.Errorf("decision_log.flush_interval: %v < 0", c.FlushInterval)
	}
	return nil
}

// decisionLine is one line of the log; the field names are those of
// formats.md §7, which data's "decisions" layout reads.
type decisionLine struct {
	RequestID     string             `json:"request_id"`
	Timestamp     string             `json:"timestamp"`
	PromptHash    string             `json:"prompt_hash"`
	Prompt        string             `json:"prompt,omitempty"`
	Router        string             `json:"router"`
	RouterVersion string             `json:"router_version"`
	ChosenModel   string             `json:"chosen_model"`
	Scores        map[string]float64 `json:"scores"`
	Policy        json.RawMessage    `json:"policy,omitempty"`
	LatencyUS     int64              `json:"latency_us"`
}

// DecisionLog appends routing decisions to a rotated JSONL file. Lines are
// buffered and flushed every FlushInterval and on Close, so a write costs
// a JSON encoding and a short critical section. A failed write or flush is
// logged and counted (Errors), never silently dropped. It is safe for
// concurrent use.
type DecisionLog struct {
	cfg  DecisionLogConfig
	now  func() time.Time
	log  *slog.Logger
	errs atomic.Uint64
	// lastLog is when an error was last logged (Unix ns), to limit the rate.
	lastLog atomic.Int64
	stop    chan struct{}
	done    chan struct{}
	close   sync.Once

	mu      sync.Mutex // guards the fields below
	f       *os.File   // nil after an I/O error until the next write reopens
	w       *bufio.Writer
	size    int64  // bytes in the file, buffered ones included
	day     string // UTC day (YYYYMMDD) of the file's lines
	pending int    // lines buffered, not yet flushed
	closed  bool
}

// OpenDecisionLog opens (appending to) the log file of cfg and starts the
// flusher. now is the clock, time.Now when nil; a nil logger discards.
// Close flushes and stops it.
func OpenDecisionLog(cfg DecisionLogConfig, now func() time.Time, log *slog.Logger) (*DecisionLog, error) {
	if cfg.Path == "" {
		return nil, errors.New("decision log: no path")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &DecisionLog{cfg: cfg.withDefaults(), now: now, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.open(); err != nil {
		return nil, err
	}
	go l.flusher()
	return l, nil
}

// open opens the live file for appending; l.mu is held or l is new.
func (l *DecisionLog) open() error {
	if dir := filepath.Dir(l.cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("decision log: %w", err)
		}
	}
	f, err := os.OpenFile(l.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("decision log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("decision log: %w", err)
	}
	l.f, l.w, l.size, l.pending = f, bufio.NewWriterSize(f, 64<<10), st.Size(), 0
	l.day = l.now().UTC().Format("20060102")
	if st.Size() > 0 {
		// Lines already in the file were written on the day of its last change.
		l.day = st.ModTime().UTC().Format("20060102")
	}
	return nil
}

// Write appends one decision. The time, when zero, is now. Errors are
// counted and logged, and returned for callers that care.
func (l *DecisionLog) Write(d *data.Decision) error {
	now := l.now().UTC()
	t := d.Time
	if t.IsZero() {
		t = now
	}
	line := decisionLine{RequestID: d.RequestID, Timestamp: t.UTC().Format(time.RFC3339Nano), PromptHash: d.PromptHash,
		Router: d.Router, RouterVersion: d.RouterVersion, ChosenModel: d.ChosenModel, Scores: d.Scores,
		LatencyUS: int64(d.LatencyUS)}
	if line.PromptHash == "" {
		line.PromptHash = data.PromptIDOf(d.Prompt)
	}
	if l.cfg.IncludePrompt {
		line.Prompt = d.Prompt
	}
	if d.Policy != "" {
		if json.Valid([]byte(d.Policy)) {
			line.Policy = json.RawMessage(d.Policy)
		} else {
			line.Policy, _ = json.Marshal(d.Policy)
		}
	}
	return l.writeLine(line, now)
}

func (l *DecisionLog) writeLine(line decisionLine, now time.Time) error {
	b, err := json.Marshal(line)
	if err != nil {
		return l.fail(fmt.Errorf("decision log: encoding request %s: %w", line.RequestID, err), 1)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.fail(fmt.Errorf("decision log: closed; request %s not logged", line.RequestID), 1)
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			return l.fail(err, 1)
		}
	}
	day := now.Format("20060102")
	if l.size > 0 && (l.size+int64(len(b)) > l.cfg.MaxBytes || day != l.day) {
		if err := l.rotate(now); err != nil {
			return l.fail(err, 1)
		}
	}
	if _, err := l.w.Write(b); err != nil {
		l.drop()
		return l.fail(fmt.Errorf("decision log: %w", err), 1+l.takePending())
	}
	l.size += int64(len(b))
	l.day = day
	l.pending++
	return nil
}

// rotate renames the live file and opens a new one; l.mu is held.
func (l *DecisionLog) rotate(now time.Time) error {
	if err := l.flushLocked(); err != nil {
		return err
	}
	if err := l.f.Close(); err != nil {
		l.f = nil
		return fmt.Errorf("decision log: closing before rotation: %w", err)
	}
	l.f = nil
	base := strings.TrimSuffix(l.cfg.Path, ".jsonl")
	stamp := now.UTC().Format("20060102T150405")
	dst := base + "-" + stamp + ".jsonl"
	for n := 1; ; n++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = base + "-" + stamp + "-" + strconv.Itoa(n) + ".jsonl"
	}
	if err := os.Rename(l.cfg.Path, dst); err != nil {
		return fmt.Errorf("decision log: rotating: %w", err)
	}
	if err := l.open(); err != nil {
		return err
	}
	l.prune()
	return nil
}

// rotated is one rotated file, ordered by its stamp and suffix.
type rotated struct {
	path  string
	stamp string
	n     int
}

// prune deletes the oldest rotated files beyond MaxFiles; l.mu is held.
func (l *DecisionLog) prune() {
	base := strings.TrimSuffix(l.cfg.Path, ".jsonl")
	matches, err := filepath.Glob(base + "-*.jsonl")
	if err != nil {
		return
	}
	var files []rotated
	for _, m := range matches {
		rest := strings.TrimSuffix(strings.TrimPrefix(m, base+"-"), ".jsonl")
		stamp, suffix, _ := strings.Cut(rest, "-")
		if _, err := time.Parse("20060102T150405", stamp); err != nil {
			continue
		}
		n := 0
		if suffix != "" {
			if n, err = strconv.Atoi(suffix); err != nil {
				continue
			}
		}
		files = append(files, rotated{m, stamp, n})
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].stamp != files[j].stamp {
			return files[i].stamp < files[j].stamp
		}
		return files[i].n < files[j].n
	})
	for len(files) > l.cfg.MaxFiles {
		if err := os.Remove(files[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("decision log: removing an old file", "file", files[0].path, "err", err)
		}
		files = files[1:]
	}
}

// flushLocked writes the buffer out; l.mu is held. On error the buffered
// lines are counted as lost and the file is reopened on the next write.
func (l *DecisionLog) flushLocked() error {
	if l.f == nil || l.pending == 0 && l.w.Buffered() == 0 {
		return nil
	}
	if err := l.w.Flush(); err != nil {
		n := l.takePending()
		l.drop()
		return l.fail(fmt.Errorf("decision log: flushing %d lines: %w", n, err), uint64(n))
	}
	l.pending = 0
	return nil
}

func (l *DecisionLog) takePending() uint64 {
	n := l.pending
	l.pending = 0
	return uint64(n)
}

// drop closes the file after an I/O error; l.mu is held.
func (l *DecisionLog) drop() {
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.w = nil, nil
}

// fail counts n lost lines and logs err, at most once a second.
func (l *DecisionLog) fail(err error, n uint64) error {
	total := l.errs.Add(n)
	now := time.Now().UnixNano()
	if last := l.lastLog.Load(); now-last >= int64(time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Error("decision log write failed", "err", err, "lost_lines_total", total)
	}
	return err
}

// Flush writes buffered lines to the file.
func (l *DecisionLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked()
}

func (l *DecisionLog) flusher() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Errors returns the number of decisions lost to write errors so far.
func (l *DecisionLog) Errors() uint64 { return l.errs.Load() }

// Close flushes and closes the file; later writes fail and are counted.
func (l *DecisionLog) Close() error {
	var err error
	l.close.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		defer l.mu.Unlock()
		err = l.flushLocked()
		if l.f != nil {
			if cerr := l.f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("decision log: %w", cerr)
			}
		}
		l.f, l.w, l.closed = nil, nil, true
	})
	return err
}

// maxRequestIDLen bounds an accepted X-Request-Id.
const maxRequestIDLen = 128

// requestID returns the request's X-Request-Id when it is 1 to 128
// characters of [A-Za-z0-9._:-], else a random 128-bit hex id.
func requestID(header string) string {
	if n := len(header); n > 0 && n <= maxRequestIDLen {
		ok := true
		for i := 0; i < n && ok; i++ {
			c := header[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == ':' || c == '-'
		}
		if ok {
			return header
		}
	}
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go >= 1.24)
	return hex.EncodeToString(b[:])
}
