package data

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
)

// Outcome is one graded answer of one model to one prompt: the canonical
// training record (formats.md §1).
type Outcome struct {
	// PromptID groups the outcomes of one prompt. When a source has none it
	// is PromptIDOf(Prompt).
	PromptID string
	// Prompt is the user prompt (the last user turn of a conversation).
	Prompt string
	// Model is the model name as in the catalog.
	Model string
	// Score is the answer's quality in [0, 1].
	Score float64
	// Cost is the USD spent on the answer; meaningful only when HasCost.
	Cost    float64
	HasCost bool
	// Task is a dataset or task label, for reports only.
	Task string
	// Time is when the answer was served; the zero Time means unknown.
	Time time.Time
	// Meta holds source columns kept as metadata (for example a wide
	// table's "<model>_response" as "response"). Nil when there are none.
	Meta map[string]string
}

// Winner is the outcome of a battle, with Chatbot Arena's spelling.
type Winner string

// The battle outcomes of Chatbot Arena.
const (
	WinnerA    Winner = "model_a"
	WinnerB    Winner = "model_b"
	Tie        Winner = "tie"
	TieBothBad Winner = "tie (bothbad)"
)

// Valid reports whether w is one of the four known outcomes.
func (w Winner) Valid() bool {
	switch w {
	case WinnerA, WinnerB, Tie, TieBothBad:
		return true
	}
	return false
}

// IsTie reports whether w is a tie of either kind.
func (w Winner) IsTie() bool { return w == Tie || w == TieBothBad }

// Battle is one pairwise comparison of two models' answers to one prompt
// (formats.md §4).
type Battle struct {
	PromptID string
	Prompt   string
	ModelA   string
	ModelB   string
	Winner   Winner
	Task     string
	Judge    string
	Language string
	// Turn is the number of conversation turns; 0 when unknown.
	Turn int
	// Time is when the battle happened; the zero Time means unknown.
	Time time.Time
	Meta map[string]string
}

// Feedback is one production signal about one served request (formats.md §6).
type Feedback struct {
	RequestID     string
	Time          time.Time
	Prompt        string
	PromptID      string
	Model         string
	RouterVersion string
	// Signal is thumbs_up, thumbs_down, retry or completed; empty when the
	// signal was a float score, which is then in Score.
	Signal     string
	Score      float64
	HasScore   bool
	Cost       float64
	HasCost    bool
	LatencyMS  float64
	HasLatency bool
}

// Feedback signal names.
const (
	SignalThumbsUp   = "thumbs_up"
	SignalThumbsDown = "thumbs_down"
	SignalRetry      = "retry"
	SignalCompleted  = "completed"
)

// Decision is one routing decision written by the server (formats.md §7).
type Decision struct {
	RequestID     string
	Time          time.Time
	PromptHash    string
	Prompt        string
	Router        string
	RouterVersion string
	ChosenModel   string
	Scores        map[string]float64
	// Policy is the policy as the server logged it, re-encoded as JSON.
	Policy    string
	LatencyUS float64
}

// NormalizePrompt returns the form of a prompt used for identity,
// de-duplication and exclusion: Unicode letters lower-cased, runs of white
// space collapsed to one space, leading and trailing space removed.
func NormalizePrompt(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// PromptIDOf returns the default prompt id of a prompt: the first 16 hex
// digits of the SHA-256 of its normalised text.
func PromptIDOf(prompt string) string {
	sum := sha256.Sum256([]byte(NormalizePrompt(prompt)))
	return hex.EncodeToString(sum[:8])
}
