package api

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	diff := -1.25
	cases := []RouteResponse{
		{},
		{Model: "a", Scores: map[string]float64{}, Router: "r", Version: "v1"},
		{Model: "gpt-4o", Scores: map[string]float64{"gpt-4o": 0.91, "mixtral": 0.5, "llama-3-8b": 1e-7, "big": 3e21, "neg": -0.000001234, "zero": 0},
			Difficulty: &diff, Router: "mf", Version: "20261127T033205Z", LatencyUS: 532, RequestID: "abc-1"},
		{Model: "quote\"back\\slash\n\t\r\b\f\x01<tag>&amp;\u2028\u2029é\xff\xfe", Scores: map[string]float64{"ü<>": 1}, Router: "x", Version: "y"},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		c := RouteResponse{Model: "m", Scores: map[string]float64{}, Router: "irt", Version: "v3", LatencyUS: r.Int64N(1e6)}
		for j := range r.IntN(30) {
			c.Scores[string(rune('a'+j%26))+string(rune('A'+r.IntN(26)))] = math.Ldexp(r.Float64(), r.IntN(160)-80) * float64(1-2*r.IntN(2))
		}
		cases = append(cases, c)
	}
	for i, c := range cases {
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.AppendJSON(nil); string(got) != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestAppendJSONNonFinite(t *testing.T) {
	c := RouteResponse{Model: "m", Scores: map[string]float64{"a": math.NaN(), "b": math.Inf(1)}}
	var back map[string]any
	if err := json.Unmarshal(c.AppendJSON(nil), &back); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if s := back["scores"].(map[string]any); s["a"] != nil || s["b"] != nil {
		t.Errorf("scores %v, want nulls", s)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	c := RouteResponse{Model: "m", Scores: map[string]float64{}, Router: "irt", Version: "v3", LatencyUS: 123, RequestID: "0123456789abcdef0123456789abcdef"}
	for j := range 20 {
		c.Scores["synth-model-"+string(rune('a'+j))] = float64(j) / 21
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = c.AppendJSON(buf[:0])
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	c := RouteResponse{Model: "m", Scores: map[string]float64{}, Router: "irt", Version: "v3", LatencyUS: 123, RequestID: "0123456789abcdef0123456789abcdef"}
	for j := range 20 {
		c.Scores["synth-model-"+string(rune('a'+j))] = float64(j) / 21
	}
	b.ReportAllocs()
	for b.Loop() {
		json.Marshal(&c)
	}
}
