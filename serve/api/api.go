// Package api holds the wire types of routekit's HTTP API, shared by the
// server, the CLI and clients. Values are plain data, safe to copy.
package api

// Message is one chat turn, as in OpenAI's API.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Policy overrides a router's policy for one request: a threshold (two
// models), a lambda (quality per USD) or a maximum cost per query (USD).
// A threshold compares the strong model's win score (1 + p_strong -
// p_weak) / 2 (models.WinScore): the strong model is chosen when the win
// score is at least the threshold, so 0.5 means p_strong >= p_weak.
type Policy struct {
	Threshold *float64 `json:"threshold,omitempty"`
	Lambda    *float64 `json:"lambda,omitempty"`
	MaxCost   *float64 `json:"max_cost,omitempty"`
}

// RouteRequest asks which model should answer a prompt. Give Prompt, or
// Messages whose last user turn is routed.
type RouteRequest struct {
	Router   string    `json:"router,omitempty"`
	Prompt   string    `json:"prompt,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	// Models restricts the candidates; empty means all of the router's.
	Models []string `json:"models,omitempty"`
	Policy *Policy  `json:"policy,omitempty"`
}

// RouteResponse is a routing decision.
type RouteResponse struct {
	Model  string             `json:"model"`
	Scores map[string]float64 `json:"scores"`
	// Difficulty is set by routers that explain prompts (IRT).
	Difficulty *float64 `json:"difficulty,omitempty"`
	Router     string   `json:"router"`
	Version    string   `json:"version"`
	LatencyUS  int64    `json:"latency_us"`
	// RequestID identifies the decision in the server's decision log, to
	// join feedback on; it is also sent as the X-Request-Id header.
	RequestID string `json:"request_id,omitempty"`
}

// BatchRequest routes several prompts with one router and policy.
type BatchRequest struct {
	Router  string   `json:"router,omitempty"`
	Prompts []string `json:"prompts"`
	Models  []string `json:"models,omitempty"`
	Policy  *Policy  `json:"policy,omitempty"`
}

// BatchResponse holds one decision per prompt, in order.
type BatchResponse struct {
	Decisions []RouteResponse `json:"decisions"`
}

// Error is the body of every 4xx and 5xx response.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names the problem with a stable code and a message. Type is
// set by the OpenAI-compatible endpoints, whose clients read it:
// "invalid_request_error" for 4xx, "api_error" for 5xx.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Type    string `json:"type,omitempty"`
}

// ModelList is the body of GET /v1/models, in OpenAI's shape: Object is
// "list".
type ModelList struct {
	Object string      `json:"object"`
	Data   []ModelCard `json:"data"`
}

// ModelCard is one model name the proxy accepts in a chat completion's
// "model" field. Object is "model", Created a Unix time in seconds (when
// the router's artifact was made), OwnedBy "routekit".
type ModelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}
