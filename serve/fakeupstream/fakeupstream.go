// Package fakeupstream is an OpenAI-compatible chat-completions server that
// answers without a model, for tests, the demo and load tests of the
// routing proxy. Its answer names the model it was asked for ("[fake
// MODEL] ..."), so a caller can see where a request was routed. It serves
// POST <prefix>/chat/completions, plain JSON or, with "stream": true,
// server-sent events of chat.completion.chunk objects ending in
// "data: [DONE]", and GET <prefix>/models.
//
// A Server is safe for concurrent use once serving; set its fields before.
package fakeupstream

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the fake upstream; the zero value is ready to use.
type Server struct {
	// Chunks is the number of content events of a streamed answer;
	// default 3.
	Chunks int
	// ChunkDelay is the pause before each content event after the first.
	ChunkDelay time.Duration
	// Hold, when not nil, is received from before each content event
	// after the first, so a test can pace a stream.
	Hold <-chan struct{}
	// APIKey, when set, is required as "Authorization: Bearer APIKey";
	// other requests get 401.
	APIKey string
	// FailStatus, when not 0, is the status of every chat completion,
	// with an OpenAI-style error body.
	FailStatus int
	// OnCancel, when not nil, is called when a client goes away before a
	// streamed answer is complete.
	OnCancel func()

	n    atomic.Int64
	mu   sync.Mutex // guards reqs
	reqs []Request
}

// Request is a chat completion the server received.
type Request struct {
	Model         string
	Stream        bool
	Authorization string
	RequestID     string // the X-Request-Id header
	Body          []byte
}

// Requests returns the chat completions received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Most bytes of a request body read.
const maxBody = 8 << 20

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/chat/completions"):
		s.chat(w, r)
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models"):
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{}})
	default:
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "reading the body: "+err.Error())
		return
	}
	var in chatRequest
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Model: in.Model, Stream: in.Stream, Authorization: r.Header.Get("Authorization"),
		RequestID: r.Header.Get("X-Request-Id"), Body: body})
	s.mu.Unlock()
	if s.APIKey != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.APIKey)) != 1 {
		writeError(w, http.StatusUnauthorized, "invalid_api_key", "missing or wrong API key")
		return
	}
	if s.FailStatus != 0 {
		writeError(w, s.FailStatus, "fake_failure", fmt.Sprintf("fake upstream fails with %d", s.FailStatus))
		return
	}
	if in.Model == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "model: missing")
		return
	}
	id := fmt.Sprintf("chatcmpl-fake-%d", s.n.Add(1))
	answer := fmt.Sprintf("[fake %s] you said: %s", in.Model, lastUser(in))
	created := time.Now().Unix()
	if !in.Stream {
		words := len(strings.Fields(answer))
		writeJSON(w, http.StatusOK, map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": in.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
			"usage": map[string]int{"prompt_tokens": len(body) / 4, "completion_tokens": words,
				"total_tokens": len(body)/4 + words},
		})
		return
	}
	s.stream(r.Context(), w, id, created, in.Model, answer)
}

func (s *Server) stream(ctx context.Context, w http.ResponseWriter, id string, created int64, model, answer string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	event := func(delta map[string]string, finish any) error {
		b, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		return rc.Flush()
	}
	parts := split(answer, s.Chunks)
	for i, p := range parts {
		if i > 0 {
			if err := s.wait(ctx); err != nil {
				if s.OnCancel != nil {
					s.OnCancel()
				}
				return
			}
		}
		delta := map[string]string{"content": p}
		if i == 0 {
			delta["role"] = "assistant"
		}
		if event(delta, nil) != nil {
			if s.OnCancel != nil {
				s.OnCancel()
			}
			return
		}
	}
	if event(map[string]string{}, "stop") != nil {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

// wait paces a stream: ChunkDelay, then Hold, or the end of ctx.
func (s *Server) wait(ctx context.Context) error {
	if s.ChunkDelay > 0 {
		t := time.NewTimer(s.ChunkDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if s.Hold != nil {
		select {
		case <-s.Hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// split cuts s into n pieces at word boundaries (fewer when s has fewer
// words); the pieces concatenate to s.
func split(s string, n int) []string {
	if n <= 0 {
		n = 3
	}
	words := strings.SplitAfter(s, " ")
	if n > len(words) {
		n = len(words)
	}
	out := make([]string, 0, n)
	per := (len(words) + n - 1) / n
	for i := 0; i < len(words); i += per {
		out = append(out, strings.Join(words[i:min(i+per, len(words))], ""))
	}
	return out
}

// lastUser returns the text of the last user message, shortened.
func lastUser(in chatRequest) string {
	for i := len(in.Messages) - 1; i >= 0; i-- {
		m := in.Messages[i]
		if m.Role != "user" {
			continue
		}
		var text string
		if json.Unmarshal(m.Content, &text) != nil {
			var parts []struct{ Type, Text string }
			json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				if p.Type == "text" {
					text += p.Text
				}
			}
		}
		if r := []rune(text); len(r) > 80 {
			text = string(r[:80]) + "..."
		}
		return text
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "api_error"
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": code}})
}
