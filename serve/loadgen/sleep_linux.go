//go:build linux

package loadgen

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// fineSleeper sleeps for short durations through a timerfd read by Go's
// network poller. Go's own timers wake up to 1 ms late when the process
// is otherwise idle (the poller then waits in whole milliseconds), which
// at 2,000 requests/s is twice the interval between requests; a timerfd
// wakes the poller itself, within tens of microseconds, and blocks no
// thread. It is not safe for concurrent use.
type fineSleeper struct {
	fd  uintptr
	f   *os.File // nil: fall back to time.Sleep
	buf [8]byte
}

// itimerspec is struct itimerspec of timerfd_settime(2).
type itimerspec struct{ interval, value syscall.Timespec }

const clockMonotonic = 1

func newFineSleeper() *fineSleeper {
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return &fineSleeper{}
	}
	return &fineSleeper{fd: fd, f: os.NewFile(fd, "timerfd")}
}

// sleep sleeps for d > 0.
func (s *fineSleeper) sleep(d time.Duration) {
	if s.f == nil {
		time.Sleep(d)
		return
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, s.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if errno != 0 {
		time.Sleep(d)
		return
	}
	if _, err := s.f.Read(s.buf[:]); err != nil {
		time.Sleep(time.Until(time.Now().Add(d))) // cannot happen with an armed timerfd
	}
}

func (s *fineSleeper) close() {
	if s.f != nil {
		s.f.Close()
	}
}
