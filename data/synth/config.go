package synth

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config sets the size and seed of a generated world. The zero value of any
// field means its default (see DefaultConfig), so Config{} is the default
// world and Config{Prompts: 2000} a smaller one.
type Config struct {
	// Seed seeds every random draw; 0 means 1. Equal configs give
	// identical worlds.
	Seed uint64
	// Models is the number of candidate models, at least 2; 0 means 20.
	Models int
	// Prompts is the number of distinct prompts, at least 1; 0 means 20000.
	Prompts int
	// Skills is the dimension of the latent ability space, 1 to 16; 0 means
	// 4 (math, code, knowledge, language). Other values use the generic
	// names skill_1 ... skill_k.
	Skills int
	// Coverage is the expected share of models that answer each prompt, in
	// (0, 1]; 0 means 1 (every model answers every prompt). Every prompt
	// is answered by at least 2 models.
	Coverage float64
	// Battles is the number of pairwise battles, at least 0; 0 means 20000.
	// (A world without battles is had by dropping World.Battles.)
	Battles int
	// Start is the first timestamp of the ~60-day window of prompts; the
	// zero Time means 2026-01-01T00:00:00Z.
	Start time.Time
}

// Default values of Config fields.
const (
	DefaultSeed     = 1
	DefaultModels   = 20
	DefaultPrompts  = 20000
	DefaultSkills   = 4
	DefaultCoverage = 1.0
	DefaultBattles  = 20000
	// MaxSkills is the largest allowed Config.Skills.
	MaxSkills = 16
)

// DefaultStart is the default Config.Start.
var DefaultStart = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Span is the length of the time window over which prompts are spread.
const Span = 60 * 24 * time.Hour

// DefaultConfig returns the configuration of the default world: seed 1,
// 20 models, 20000 prompts, 4 skills, full coverage, 20000 battles,
// starting 2026-01-01 UTC.
func DefaultConfig() Config {
	return Config{
		Seed:     DefaultSeed,
		Models:   DefaultModels,
		Prompts:  DefaultPrompts,
		Skills:   DefaultSkills,
		Coverage: DefaultCoverage,
		Battles:  DefaultBattles,
		Start:    DefaultStart,
	}
}

// withDefaults returns c with its zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Models == 0 {
		c.Models = d.Models
	}
	if c.Prompts == 0 {
		c.Prompts = d.Prompts
	}
	if c.Skills == 0 {
		c.Skills = d.Skills
	}
	if c.Coverage == 0 {
		c.Coverage = d.Coverage
	}
	if c.Battles == 0 {
		c.Battles = d.Battles
	}
	if c.Start.IsZero() {
		c.Start = d.Start
	}
	return c
}

// Validate reports every invalid field of c, after zero fields take
// their defaults (so Config{} is valid).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Models < 2 {
		errs = append(errs, fmt.Errorf("synth: Models: %d, want at least 2", c.Models))
	}
	if c.Prompts < 1 {
		errs = append(errs, fmt.Errorf("synth: Prompts: %d, want at least 1", c.Prompts))
	}
	if c.Skills < 1 || c.Skills > MaxSkills {
		errs = append(errs, fmt.Errorf("synth: Skills: %d, want 1 to %d", c.Skills, MaxSkills))
	}
	if math.IsNaN(c.Coverage) || c.Coverage <= 0 || c.Coverage > 1 {
		errs = append(errs, fmt.Errorf("synth: Coverage: %v, want a share in (0, 1]", c.Coverage))
	}
	if c.Battles < 0 {
		errs = append(errs, fmt.Errorf("synth: Battles: %d, want at least 0", c.Battles))
	}
	return errors.Join(errs...)
}
