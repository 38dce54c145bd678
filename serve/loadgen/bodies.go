package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/data/synth"
	"github.com/routekit/routekit/serve/api"
)

// maxPromptLine bounds one line of a plain prompt file.
const maxPromptLine = 4 << 20

// LoadPrompts reads the prompts of a file, in file order: a data file the
// data package reads (.jsonl, .json, .csv or .parquet, optionally .gz or
// .zst, of any layout holding prompts: outcomes, battles, ...) gives its
// distinct prompts; any other file is plain text with one prompt a line,
// blank lines skipped.
func LoadPrompts(ctx context.Context, path string) ([]string, error) {
	if _, err := data.ContainerOf(path); err != nil {
		return readLines(path)
	}
	seen := map[string]bool{}
	var out []string
	add := func(p string) error {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
		return nil
	}
	h := data.Handler{
		Outcome:  func(o *data.Outcome) error { return add(o.Prompt) },
		Battle:   func(b *data.Battle) error { return add(b.Prompt) },
		Feedback: func(f *data.Feedback) error { return nil },
		Decision: func(d *data.Decision) error { return nil },
	}
	if err := data.NewReader(data.Options{}).Read(ctx, path, h); err != nil {
		return nil, fmt.Errorf("reading prompts: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading prompts: %s: no prompts (a file of outcomes or battles is needed)", path)
	}
	return out, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading prompts: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxPromptLine)
	line := 0
	for sc.Scan() {
		line++
		if p := strings.TrimSpace(sc.Text()); p != "" {
			out = append(out, p)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &data.ParseError{File: path, Line: line + 1, Field: "prompt", Err: fmt.Errorf("line longer than %d bytes", maxPromptLine)}
		}
		return nil, fmt.Errorf("reading prompts: %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading prompts: %s: no prompts (want one a line)", filepath.Clean(path))
	}
	return out, nil
}

// SyntheticPrompts returns n prompts of a synthetic router world (see
// package data/synth) drawn with seed: realistic mixes of task families,
// lengths and difficulties.
func SyntheticPrompts(n int, seed uint64) ([]string, error) {
	if n < 1 {
		return nil, fmt.Errorf("synthetic prompts: n is %d, want at least 1", n)
	}
	// Two models and one battle: only the prompts are wanted.
	w, err := synth.Generate(synth.Config{Seed: seed, Models: 2, Prompts: n, Battles: 1})
	if err != nil {
		return nil, fmt.Errorf("synthetic prompts: %w", err)
	}
	out := make([]string, len(w.Prompts))
	for i, p := range w.Prompts {
		out[i] = p.Text
	}
	return out, nil
}

// RouteBodies returns one /v1/route request body per prompt: tmpl with
// its Prompt set (tmpl may name a router, models or a policy).
func RouteBodies(prompts []string, tmpl api.RouteRequest) ([][]byte, error) {
	out := make([][]byte, len(prompts))
	for i, p := range prompts {
		tmpl.Prompt = p
		b, err := json.Marshal(tmpl)
		if err != nil {
			return nil, fmt.Errorf("encoding request %d: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}
