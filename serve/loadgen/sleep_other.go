//go:build !linux

package loadgen

import "time"

// fineSleeper sleeps with Go's timers outside Linux.
type fineSleeper struct{}

func newFineSleeper() *fineSleeper { return &fineSleeper{} }

func (*fineSleeper) sleep(d time.Duration) { time.Sleep(d) }

func (*fineSleeper) close() {}
