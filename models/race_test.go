//go:build race

package models

// raceEnabled reports whether the race detector is on. Under it sync.Pool
// drops items at random, so allocation counts are not meaningful.
const raceEnabled = true
