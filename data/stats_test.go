package data

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestStatsDecisionsAndFeedback(t *testing.T) {
	dir := t.TempDir()
	dec := filepath.Join(dir, "decisions.jsonl")
	fb := filepath.Join(dir, "feedback.jsonl")
	os.WriteFile(dec, []byte(`{"request_id":"r1","timestamp":"2026-11-27T10:00:00Z","prompt_hash":"ab","router":"mf","router_version":"v2","chosen_model":"small","scores":{"small":0.7,"big":0.9},"latency_us":100}
{"request_id":"r2","timestamp":"2026-11-27T10:00:01Z","prompt_hash":"cd","router":"mf","router_version":"v2","chosen_model":"big","scores":{"small":0.2,"big":0.9},"latency_us":300}
{"request_id":"r3","timestamp":"2026-11-27T10:00:02Z","prompt_hash":"ef","router":"mf","router_version":"v3","chosen_model":"small","scores":{"small":0.8,"big":0.9},"latency_us":200}
`), 0o644)
	os.WriteFile(fb, []byte(`{"request_id":"r1","timestamp":"2026-11-27T10:01:00Z","prompt_id":"p1","model":"small","signal":"thumbs_up"}
{"request_id":"r2","timestamp":"2026-11-27T10:01:00Z","prompt_id":"p2","model":"big","signal":0.5}
{"request_id":"r3","timestamp":"2026-11-27T10:01:00Z","prompt_id":"p3","model":"small","signal":"retry"}
`), 0o644)
	st := NewStats()
	r := NewReader(Options{})
	for _, f := range []string{dec, fb} {
		if err := r.Read(context.Background(), f, st.Handler()); err != nil {
			t.Fatal(err)
		}
	}
	s := st.Summary()
	if s.Decisions != 3 || s.Feedback != 3 || s.Outcomes != 0 {
		t.Fatalf("decisions %d feedback %d outcomes %d, want 3 3 0", s.Decisions, s.Feedback, s.Outcomes)
	}
	if s.Routers["mf@v2"] != 2 || s.Routers["mf@v3"] != 1 {
		t.Errorf("routers %v", s.Routers)
	}
	if s.MeanLatencyUS != 200 {
		t.Errorf("mean latency %v, want 200", s.MeanLatencyUS)
	}
	byName := map[string]ModelStats{}
	for _, m := range s.Models {
		byName[m.Model] = m
	}
	small, big := byName["small"], byName["big"]
	if small.Chosen != 2 || math.Abs(small.Share-2.0/3) > 1e-12 || big.Chosen != 1 {
		t.Errorf("small %+v big %+v", small, big)
	}
	if small.Signals["thumbs_up"] != 1 || small.Signals["retry"] != 1 || big.Signals["score"] != 1 {
		t.Errorf("signals small %v big %v", small.Signals, big.Signals)
	}
}
