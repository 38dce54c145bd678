package fakeupstream

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when a goroutine outlives them, such
// as a streamed answer still waiting after its client went away.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
