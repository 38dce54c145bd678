// Package progress draws progress bars on a terminal. A Bar draws nothing
// when its output is not a terminal, so logs and pipes stay clean. A Bar
// is safe for concurrent use.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// minInterval is the shortest time between two redraws.
const minInterval = 100 * time.Millisecond

// width is the number of cells of the bar itself.
const width = 30

// Bar is one progress bar on one line.
type Bar struct {
	mu      sync.Mutex // guards the fields below
	w       io.Writer
	label   string
	total   int64
	unit    string
	start   time.Time
	last    time.Time
	drawn   bool
	enabled bool
	now     func() time.Time
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New starts a bar over total units (total <= 0: unknown) labelled label.
// unit is "B" for bytes (shown in MB) or a noun such as "rows".
func New(w io.Writer, label string, total int64, unit string) *Bar {
	return &Bar{w: w, label: label, total: total, unit: unit, start: time.Now(), enabled: IsTerminal(w), now: time.Now}
}

// SetLabel changes the label, keeping the total and the start time.
func (b *Bar) SetLabel(label string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label = label
}

// SetTotal changes the total, for example when a new file starts.
func (b *Bar) SetTotal(label string, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.label, b.total, b.start = label, total, b.now()
}

func (b *Bar) amount(n int64) string {
	if b.unit == "B" {
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d %s", n, b.unit)
}

// Update draws the bar at done units, at most every 100 ms.
func (b *Bar) Update(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	now := b.now()
	if b.drawn && now.Sub(b.last) < minInterval && (b.total <= 0 || done < b.total) {
		return
	}
	b.last, b.drawn = now, true
	elapsed := now.Sub(b.start).Seconds()
	rate := ""
	if elapsed > 0 {
		r := float64(done) / elapsed
		if b.unit == "B" {
			rate = fmt.Sprintf("%.1f MB/s", r/1e6)
		} else {
			rate = fmt.Sprintf("%.0f %s/s", r, b.unit)
		}
	}
	var line string
	if b.total > 0 {
		frac := float64(done) / float64(b.total)
		if frac > 1 {
			frac = 1
		}
		cells := int(frac * width)
		eta := ""
		if frac > 0 && frac < 1 {
			eta = " ETA " + (time.Duration(elapsed*(1-frac)/frac) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %s %s%s", b.label, strings.Repeat("=", cells), strings.Repeat(" ", width-cells),
			frac*100, b.amount(done), rate, eta)
	} else {
		line = fmt.Sprintf("%s %s %s", b.label, b.amount(done), rate)
	}
	fmt.Fprintf(b.w, "\r\033[K%s", line)
}

// Done clears the bar's line.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enabled && b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
	}
	b.drawn = false
}
