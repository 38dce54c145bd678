package eval

import (
	"errors"
	"fmt"
	"math"
)

// Errors that callers branch on (with errors.Is).
var (
	// ErrEmpty means there are no prompts (or no models) to score.
	ErrEmpty = errors.New("empty input")
	// ErrLength means two inputs that must be parallel differ in length.
	ErrLength = errors.New("length mismatch")
	// ErrNotFinite means a value is NaN or infinite.
	ErrNotFinite = errors.New("not a finite number")
	// ErrNegativeCost means a cost or price is below zero.
	ErrNegativeCost = errors.New("negative cost")
	// ErrNoGap means the strong and the weak model have the same average
	// quality, so PGR, APGR and CPT (all divided by that gap) are undefined.
	ErrNoGap = errors.New("strong and weak models have equal quality: PGR undefined")
	// ErrConfig means a configuration field is out of range.
	ErrConfig = errors.New("invalid configuration")
)

// InputError is bad input at a position: Arg names the argument ("win",
// "strong", "probs", ...), Prompt the 0-based prompt (row) and Model the
// 0-based model (column); either is -1 when it does not apply.
type InputError struct {
	Arg    string
	Prompt int
	Model  int
	Err    error
}

func (e *InputError) Error() string {
	switch {
	case e.Prompt >= 0 && e.Model >= 0:
		return fmt.Sprintf("eval: %s[%d][%d]: %v", e.Arg, e.Prompt, e.Model, e.Err)
	case e.Prompt >= 0:
		return fmt.Sprintf("eval: %s[%d]: %v", e.Arg, e.Prompt, e.Err)
	case e.Model >= 0:
		return fmt.Sprintf("eval: %s, model %d: %v", e.Arg, e.Model, e.Err)
	}
	return fmt.Sprintf("eval: %s: %v", e.Arg, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// checkVector reports the first non-finite value of xs, or a length other
// than n (n < 0: any length).
func checkVector(arg string, xs []float64, n int) error {
	if n >= 0 && len(xs) != n {
		return &InputError{Arg: arg, Prompt: -1, Model: -1,
			Err: fmt.Errorf("%w: %d values, want %d", ErrLength, len(xs), n)}
	}
	for i, x := range xs {
		if !finite(x) {
			return &InputError{Arg: arg, Prompt: i, Model: -1, Err: ErrNotFinite}
		}
	}
	return nil
}

// checkMatrix checks that m has n rows of k finite values each, and, when
// nonNegative, that none is below zero.
func checkMatrix(arg string, m [][]float64, n, k int, nonNegative bool) error {
	if len(m) != n {
		return &InputError{Arg: arg, Prompt: -1, Model: -1,
			Err: fmt.Errorf("%w: %d prompts, want %d", ErrLength, len(m), n)}
	}
	for i, row := range m {
		if len(row) != k {
			return &InputError{Arg: arg, Prompt: i, Model: -1,
				Err: fmt.Errorf("%w: %d models, want %d", ErrLength, len(row), k)}
		}
		for j, x := range row {
			if !finite(x) {
				return &InputError{Arg: arg, Prompt: i, Model: j, Err: ErrNotFinite}
			}
			if nonNegative && x < 0 {
				return &InputError{Arg: arg, Prompt: i, Model: j, Err: ErrNegativeCost}
			}
		}
	}
	return nil
}
