package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSilentWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "file", 100, "B")
	b.Update(50)
	b.Done()
	if buf.Len() != 0 {
		t.Errorf("drew %q on a non-terminal", buf.String())
	}
}

func TestDraw(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	b := New(&buf, "file.jsonl", 4_000_000, "B")
	b.enabled, b.now, b.start = true, func() time.Time { return now }, now
	now = now.Add(2 * time.Second)
	b.Update(1_000_000)
	got := buf.String()
	for _, want := range []string{"file.jsonl", " 25%", "1.0 MB", "0.5 MB/s", "ETA 6s"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	// Redraws are throttled.
	buf.Reset()
	now = now.Add(10 * time.Millisecond)
	b.Update(1_100_000)
	if buf.Len() != 0 {
		t.Errorf("redrew after 10ms: %q", buf.String())
	}
	now = now.Add(time.Second)
	b.Update(4_000_000)
	if !strings.Contains(buf.String(), "100%") {
		t.Errorf("final draw %q", buf.String())
	}
	buf.Reset()
	b.Done()
	if buf.String() != "\r\033[K" {
		t.Errorf("Done wrote %q, want a line clear", buf.String())
	}
}

func TestSetLabelKeepsRate(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	b := New(&buf, "mf", 100, "epochs")
	b.enabled, b.now, b.start = true, func() time.Time { return now }, now
	now = now.Add(10 * time.Second)
	b.SetLabel("mf epoch 10")
	b.Update(10)
	if got := buf.String(); !strings.Contains(got, "mf epoch 10") || !strings.Contains(got, "1 epochs/s") || !strings.Contains(got, "ETA 1m30s") {
		t.Errorf("bar %q: want the new label, the rate since the start and the ETA", got)
	}
}
