package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// PromptSet is a set of prompts matched by normalised text, such as
// RouteLLM's contaminated_prompts.jsonl. It is safe for concurrent reads.
type PromptSet struct {
	set map[string]struct{}
}

// NewPromptSet returns a set of the given prompts.
func NewPromptSet(prompts ...string) *PromptSet {
	s := &PromptSet{set: make(map[string]struct{}, len(prompts))}
	for _, p := range prompts {
		s.Add(p)
	}
	return s
}

// Add adds a prompt.
func (s *PromptSet) Add(p string) { s.set[NormalizePrompt(p)] = struct{}{} }

// Contains reports whether a prompt's normalised text is in the set.
func (s *PromptSet) Contains(p string) bool {
	_, ok := s.set[NormalizePrompt(p)]
	return ok
}

// Len is the number of distinct prompts.
func (s *PromptSet) Len() int { return len(s.set) }

// excludeFields are the JSONL fields read as prompts, in order of
// preference; RouteLLM's file has train_prompt and eval_prompt, and the
// eval side is what matters when filtering an evaluation set.
var excludeFields = []string{"prompt", "eval_prompt", "question", "query", "train_prompt"}

// LoadPromptSet reads prompts to exclude: JSON Lines whose objects hold
// one of prompt, eval_prompt, question, query or train_prompt (RouteLLM's
// contaminated_prompts.jsonl adds both its train and eval prompts), a
// JSONL of plain strings, or else plain text with one prompt a line.
func LoadPromptSet(path string) (*PromptSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading prompt list: %w", err)
	}
	defer f.Close()
	s := NewPromptSet()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), maxLine)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			continue
		}
		switch t[0] {
		case '{':
			var m map[string]any
			if err := json.Unmarshal([]byte(t), &m); err != nil {
				return nil, &ParseError{File: path, Line: line, Err: fmt.Errorf("invalid JSON: %w", err)}
			}
			found := false
			for _, k := range excludeFields {
				if v, ok := m[k].(string); ok && v != "" {
					s.Add(v)
					found = true
					if k != "eval_prompt" {
						continue
					}
				}
			}
			if !found {
				return nil, &ParseError{File: path, Line: line, Field: "prompt", Err: fmt.Errorf("none of %s", strings.Join(excludeFields, ", "))}
			}
		case '"':
			var p string
			if err := json.Unmarshal([]byte(t), &p); err != nil {
				return nil, &ParseError{File: path, Line: line, Err: fmt.Errorf("invalid JSON string: %w", err)}
			}
			s.Add(p)
		default:
			s.Add(t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

// Prompts returns the normalised prompts of the set, sorted.
func (s *PromptSet) Prompts() []string {
	return sortedKeys(s.set)
}
