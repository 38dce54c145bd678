package train

import (
	"fmt"
	"math"
)

// splitByPrompt splits examples into a training and a validation set by
// their prompt (mfHeldOut), so no prompt is on both sides. frac 0 keeps
// every example for training.
func splitByPrompt[T any](xs []T, prompt func(*T) int32, seed uint64, frac float64) (train, val []T) {
	for i := range xs {
		if frac > 0 && mfHeldOut(seed, int(prompt(&xs[i])), frac) {
			val = append(val, xs[i])
		} else {
			train = append(train, xs[i])
		}
	}
	return train, val
}

// earlyStop follows the validation loss of a run's epochs: which epoch is
// the best so far, and when Patience epochs without improvement end the
// run. Without a validation set every epoch is the best so far.
type earlyStop struct {
	patience int
	hasVal   bool
	bestVal  float64 // the loss to beat
	bad      int     // epochs since the best one
}

// newEarlyStop returns an earlyStop that must beat the loss toBeat (NaN:
// any loss).
func newEarlyStop(patience int, hasVal bool, toBeat float64) *earlyStop {
	if math.IsNaN(toBeat) {
		toBeat = math.Inf(1)
	}
	return &earlyStop{patience: patience, hasVal: hasVal, bestVal: toBeat}
}

// observe takes the statistics of a finished epoch and reports whether
// its weights are the best so far (to keep) and whether the run should
// stop after it.
func (e *earlyStop) observe(st EpochStats) (best, stop bool) {
	if !e.hasVal {
		return true, false
	}
	if st.ValLoss < e.bestVal {
		e.bestVal, e.bad = st.ValLoss, 0
		return true, false
	}
	e.bad++
	return false, e.patience > 0 && e.bad >= e.patience
}

// keep records epoch, whose statistics are st, as the best of the run.
func (r *Report) keep(epoch int, st EpochStats) {
	r.BestEpoch, r.TrainLoss, r.ValLoss, r.ValAccuracy = epoch, st.TrainLoss, st.ValLoss, st.ValAccuracy
}

// diverged returns the error of a run whose training loss at epoch is not
// finite.
func diverged(who string, epoch int, loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("train: %s: training diverged at epoch %d (lower the learning rate)", who, epoch)
	}
	return nil
}
