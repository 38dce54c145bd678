package data

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Part is a side of a split.
type Part int

// The three parts of a split.
const (
	Train Part = iota
	Validation
	Test
)

// Parts lists the parts in order.
var Parts = []Part{Train, Validation, Test}

func (p Part) String() string {
	switch p {
	case Train:
		return "train"
	case Validation:
		return "val"
	case Test:
		return "test"
	}
	return fmt.Sprintf("Part(%d)", int(p))
}

// SplitBy is how prompts are assigned to parts.
type SplitBy string

const (
	// ByHash assigns a prompt by a seeded hash of its id: deterministic,
	// and stable when data is added.
	ByHash SplitBy = "hash"
	// ByTime puts the earliest prompts in train and the latest in test,
	// by each prompt's first timestamp.
	ByTime SplitBy = "time"
)

// SplitConfig configures a split. The zero value is an 80/10/10 hash
// split with seed 0.
type SplitConfig struct {
	// Fractions of prompts in train, validation and test; they must sum
	// to 1. Zero means 0.8, 0.1, 0.1.
	Fractions [3]float64
	// By is ByHash or ByTime; zero means ByHash.
	By SplitBy
	// Seed salts the hash.
	Seed uint64
}

// DefaultSplitConfig returns the 80/10/10 hash split.
func DefaultSplitConfig() SplitConfig {
	return SplitConfig{Fractions: [3]float64{0.8, 0.1, 0.1}, By: ByHash}
}

func (c *SplitConfig) withDefaults() SplitConfig {
	out := *c
	if out.Fractions == ([3]float64{}) {
		out.Fractions = DefaultSplitConfig().Fractions
	}
	if out.By == "" {
		out.By = ByHash
	}
	return out
}

// Validate checks the configuration.
func (c SplitConfig) Validate() error {
	c = c.withDefaults()
	sum := 0.0
	for i, f := range c.Fractions {
		if f < 0 || f > 1 || math.IsNaN(f) {
			return fmt.Errorf("split fraction %d: %v is outside [0, 1]", i+1, f)
		}
		sum += f
	}
	if math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("split fractions sum to %v, want 1", sum)
	}
	if c.By != ByHash && c.By != ByTime {
		return fmt.Errorf("split by %q: want hash or time", c.By)
	}
	return nil
}

// HashUnit maps a prompt id to [0, 1) by a seeded SHA-256.
func HashUnit(seed uint64, promptID string) float64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(promptID))
	sum := h.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Splitter assigns prompts to parts; every record of a prompt goes to the
// same part. It is safe for concurrent use.
type Splitter struct {
	cfg    SplitConfig
	byTime map[string]Part
}

// NewHashSplitter returns a splitter by hash of prompt id.
func NewHashSplitter(cfg SplitConfig) (*Splitter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.By != ByHash {
		return nil, errors.New("NewHashSplitter: config is not a hash split")
	}
	return &Splitter{cfg: cfg}, nil
}

// NewTimeSplitter returns a splitter by time from each prompt's first
// timestamp: prompts ordered by time (then id) are cut at the fractions.
func NewTimeSplitter(cfg SplitConfig, first map[string]time.Time) (*Splitter, error) {
	cfg = cfg.withDefaults()
	cfg.By = ByTime
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(first))
	for id := range first {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ti, tj := first[ids[i]], first[ids[j]]
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ids[i] < ids[j]
	})
	n := float64(len(ids))
	cut1 := int(math.Round(cfg.Fractions[0] * n))
	cut2 := int(math.Round((cfg.Fractions[0] + cfg.Fractions[1]) * n))
	s := &Splitter{cfg: cfg, byTime: make(map[string]Part, len(ids))}
	for i, id := range ids {
		switch {
		case i < cut1:
			s.byTime[id] = Train
		case i < cut2:
			s.byTime[id] = Validation
		default:
			s.byTime[id] = Test
		}
	}
	return s, nil
}

// Assign returns the part of a prompt. A time splitter returns false for
// a prompt it was not built with.
func (s *Splitter) Assign(promptID string) (Part, bool) {
	if s.byTime != nil {
		p, ok := s.byTime[promptID]
		return p, ok
	}
	u := HashUnit(s.cfg.Seed, promptID)
	switch f := s.cfg.Fractions; {
	case u < f[0]:
		return Train, true
	case u < f[0]+f[1]:
		return Validation, true
	}
	return Test, true
}

// FirstTimes collects each prompt's earliest timestamp, for a time split.
// A record without a timestamp is an error: a time split needs them all.
type FirstTimes map[string]time.Time

func (ft FirstTimes) add(id string, t time.Time, what string) error {
	if t.IsZero() {
		return fmt.Errorf("%s of prompt %s has no timestamp: a time split needs one on every record (split by hash instead)", what, id)
	}
	if cur, ok := ft[id]; !ok || t.Before(cur) {
		ft[id] = t
	}
	return nil
}

// Handler returns a Handler that collects first times.
func (ft FirstTimes) Handler() Handler {
	return Handler{
		Outcome: func(o *Outcome) error { return ft.add(o.PromptID, o.Time, "an outcome") },
		Battle:  func(b *Battle) error { return ft.add(b.PromptID, b.Time, "a battle") },
	}
}
