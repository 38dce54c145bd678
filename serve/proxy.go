package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/serve/api"
)

// ProxyConfig configures the OpenAI-compatible proxy, POST
// /v1/chat/completions. The request's "model" names a route:
//
//   - router-NAME routes with served router NAME and its stored policy;
//   - router-NAME-X overrides the policy's knob with the number X: the
//     threshold of a threshold-policy router (RouteLLM's router-mf-0.116),
//     compared with the win score (1 + P(strong) - P(weak)) / 2 (see
//     models.WinScore), or the lambda (quality per USD) of a utility
//     router;
//   - a key of Routes, a configured router and policy.
//
// Routes win over router- names, and a served router's whole name over a
// NAME-X split (a router "mf-2" is never router "mf" with knob 2).
//
// The chosen model's upstream is, in this order: Upstreams[model], the
// model's upstream in the Catalog file, DefaultUpstream. A zero field
// means the default.
type ProxyConfig struct {
	// Catalog is a model catalog file (formats.md §5) whose entries'
	// "upstream" say where each model is served; prices are not needed.
	Catalog string `yaml:"catalog"`
	// Upstreams maps model names to upstreams, over the catalog's.
	Upstreams map[string]data.Upstream `yaml:"upstreams"`
	// DefaultUpstream serves every model without an upstream of its own;
	// its Model, when empty, is the chosen model's name.
	DefaultUpstream *data.Upstream `yaml:"default_upstream"`
	// Routes are extra model names: a router and policy each.
	Routes map[string]ProxyRoute `yaml:"routes"`
	// Timeout bounds one upstream exchange, a streamed answer included;
	// default 10 min.
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes limits a chat request's body; default 8 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxIdleConnsPerHost is the number of idle upstream connections kept
	// per upstream host; default 64.
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
}

// ProxyRoute is a configured model name: a served router and an optional
// policy override (threshold or lambda, and max_cost in USD).
type ProxyRoute struct {
	Router    string   `yaml:"router"`
	Threshold *float64 `yaml:"threshold"`
	Lambda    *float64 `yaml:"lambda"`
	MaxCost   *float64 `yaml:"max_cost"`
}

// Proxy defaults.
const (
	defaultProxyTimeout        = 10 * time.Minute
	defaultProxyMaxBody        = 8 << 20
	defaultMaxIdleConnsPerHost = 64
)

func (c ProxyConfig) withDefaults() ProxyConfig {
	if c.Timeout == 0 {
		c.Timeout = defaultProxyTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultProxyMaxBody
	}
	if c.MaxIdleConnsPerHost == 0 {
		c.MaxIdleConnsPerHost = defaultMaxIdleConnsPerHost
	}
	return c
}

// Validate checks the configuration without reading files or the
// environment.
func (c ProxyConfig) Validate() error {
	if c.Timeout < 0 {
		return fmt.Errorf("proxy.timeout: %v < 0", c.Timeout)
	}
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("proxy.max_body_bytes: %d < 0", c.MaxBodyBytes)
	}
	if c.MaxIdleConnsPerHost < 0 {
		return fmt.Errorf("proxy.max_idle_conns_per_host: %d < 0", c.MaxIdleConnsPerHost)
	}
	for _, name := range sortedKeys(c.Routes) {
		r := c.Routes[name]
		switch {
		case strings.TrimSpace(name) == "":
			return errors.New("proxy.routes: empty route name")
		case r.Router == "":
			return fmt.Errorf("proxy.routes.%s.router: missing", name)
		case r.Threshold != nil && r.Lambda != nil:
			return fmt.Errorf("proxy.routes.%s: give threshold or lambda, not both", name)
		}
		for field, v := range map[string]*float64{"threshold": r.Threshold, "lambda": r.Lambda, "max_cost": r.MaxCost} {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				return fmt.Errorf("proxy.routes.%s.%s: %v is not a finite number", name, field, *v)
			}
		}
	}
	return nil
}

func (r ProxyRoute) policy() *api.Policy {
	if r.Threshold == nil && r.Lambda == nil && r.MaxCost == nil {
		return nil
	}
	return &api.Policy{Threshold: r.Threshold, Lambda: r.Lambda, MaxCost: r.MaxCost}
}

// upstream is a resolved data.Upstream.
type upstream struct {
	url   string // <base_url>/chat/completions
	model string // the model name sent; "" sends the routed model's name
	auth  string // the Authorization header, "" for none
}

// proxy is the resolved ProxyConfig; immutable.
type proxy struct {
	cfg       ProxyConfig
	upstreams map[string]*upstream
	def       *upstream
	transport *http.Transport
	client    *http.Client
}

// extras holds what Open sets up: the proxy and the decision log.
type extras struct {
	opened atomic.Bool
	proxy  atomic.Pointer[proxy]
	dlog   atomic.Pointer[DecisionLog]
}

// Errors of the proxy, mapped to statuses by proxyStatus.
var (
	errUnknownModel = errors.New("unknown model")
	errNoUpstream   = errors.New("no upstream")
	errUpstream     = errors.New("upstream unreachable")
)

func newProxy(cfg ProxyConfig, lookupEnv func(string) (string, bool)) (*proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &proxy{cfg: cfg, upstreams: map[string]*upstream{}}
	if cfg.Catalog != "" {
		c, err := data.LoadCatalog(cfg.Catalog)
		if err != nil {
			return nil, fmt.Errorf("proxy.catalog: %w", err)
		}
		for _, m := range c.Models {
			if m.Upstream == nil {
				continue
			}
			up, err := resolveUpstream(*m.Upstream, lookupEnv)
			if err != nil {
				return nil, fmt.Errorf("proxy.catalog %s: model %s: upstream.%w", cfg.Catalog, m.Name, err)
			}
			p.upstreams[m.Name] = up
		}
	}
	for _, name := range sortedKeys(cfg.Upstreams) {
		up, err := resolveUpstream(cfg.Upstreams[name], lookupEnv)
		if err != nil {
			return nil, fmt.Errorf("proxy.upstreams.%s.%w", name, err)
		}
		p.upstreams[name] = up
	}
	if cfg.DefaultUpstream != nil {
		up, err := resolveUpstream(*cfg.DefaultUpstream, lookupEnv)
		if err != nil {
			return nil, fmt.Errorf("proxy.default_upstream.%w", err)
		}
		p.def = up
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * cfg.MaxIdleConnsPerHost
	t.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	t.IdleConnTimeout = 90 * time.Second
	p.transport = t
	p.client = &http.Client{Transport: t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return p, nil
}

// resolveUpstream checks u and reads its API key. Errors start with the
// field name, for the caller's prefix.
func resolveUpstream(u data.Upstream, lookupEnv func(string) (string, bool)) (*upstream, error) {
	base, err := url.Parse(u.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("base_url: %q is not an http or https URL", u.BaseURL)
	}
	up := &upstream{url: strings.TrimRight(u.BaseURL, "/") + "/chat/completions", model: u.Model}
	if u.APIKeyEnv != "" {
		var key string
		ok := false
		if lookupEnv != nil {
			key, ok = lookupEnv(u.APIKeyEnv)
		}
		if !ok || key == "" {
			return nil, fmt.Errorf("api_key_env: environment variable %s is not set", u.APIKeyEnv)
		}
		up.auth = "Bearer " + key
	}
	return up, nil
}

func (p *proxy) upstreamOf(model string) *upstream {
	if up, ok := p.upstreams[model]; ok {
		return up
	}
	return p.def
}

// Open sets up what the server needs beyond its routers, per its Config:
// the proxy's upstreams (Config.Proxy; API keys are read with lookupEnv,
// os.LookupEnv in the command, and a missing one is an error) and the
// decision log (Config.DecisionLog). Call it once, after the first Set and
// before serving; it warns about served models without an upstream.
// Close undoes it. Without Open the proxy answers 503 and decisions are
// not logged.
func (s *Server) Open(lookupEnv func(string) (string, bool)) error {
	if s.ext.opened.Swap(true) {
		return errors.New("serve: Open called twice")
	}
	p, err := newProxy(s.cfg.Proxy, lookupEnv)
	if err != nil {
		return err
	}
	if err := s.cfg.DecisionLog.Validate(); err != nil {
		return err
	}
	if s.cfg.DecisionLog.Path != "" {
		l, err := OpenDecisionLog(s.cfg.DecisionLog, nil, s.log)
		if err != nil {
			return err
		}
		s.ext.dlog.Store(l)
		s.log.Info("logging decisions", "file", s.cfg.DecisionLog.Path, "prompts", s.cfg.DecisionLog.IncludePrompt)
	}
	s.ext.proxy.Store(p)
	if rs := s.cur.Load(); rs != nil {
		for _, n := range names(rs) {
			rt := rs.byName[n]
			if rt.Loaded == nil || rt.Loaded.Router == nil {
				continue
			}
			var missing []string
			for _, m := range rt.Loaded.Router.Scorer.Models() {
				if p.upstreamOf(m) == nil {
					missing = append(missing, m)
				}
			}
			if len(missing) > 0 {
				s.log.Warn("proxy: models without an upstream; chat completions routed to them fail with 502",
					"router", n, "models", strings.Join(missing, ","))
			}
		}
	}
	for _, name := range sortedKeys(s.cfg.Proxy.Routes) {
		if _, err := s.route(s.cfg.Proxy.Routes[name].Router); err != nil {
			s.log.Warn("proxy: route names a router not served (yet)", "route", name, "err", err)
		}
	}
	return nil
}

// Close stops serving the routers (each one's encoder closes when its
// last request ends; /readyz fails from then on), flushes and closes the
// decision log and drops idle upstream connections. Call it after the
// HTTP server's Shutdown.
func (s *Server) Close() error {
	if rs := s.cur.Swap(nil); rs != nil {
		for _, rt := range rs.byName {
			rt.release() // the server's reference: encoders close as their requests end
		}
	}
	if p := s.ext.proxy.Load(); p != nil {
		p.transport.CloseIdleConnections()
	}
	if l := s.ext.dlog.Swap(nil); l != nil {
		return l.Close()
	}
	return nil
}

// DecisionLogErrors returns the number of decisions the log lost to
// write errors (0 without a log), for a metrics collector.
func (s *Server) DecisionLogErrors() uint64 {
	if l := s.ext.dlog.Load(); l != nil {
		return l.Errors()
	}
	return 0
}

// logDecision gives a decision its request id (the request's valid
// X-Request-Id, else a random one), sets the X-Request-Id response header
// and appends the decision to the log when there is one.
func (s *Server) logDecision(w http.ResponseWriter, r *http.Request, rt *Route, prompt string, req models.Request, resp *api.RouteResponse) {
	id := requestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	resp.RequestID = id
	if l := s.ext.dlog.Load(); l != nil {
		l.Write(decisionOf(resp, prompt, policyText(rt, req)))
	}
}

// logBatch is logDecision for a batch: decision i gets the id
// "<request id>-<i>".
func (s *Server) logBatch(w http.ResponseWriter, r *http.Request, rt *Route, prompts []string, req models.Request, out []api.RouteResponse) {
	id := requestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	l := s.ext.dlog.Load()
	pol := ""
	if l != nil {
		pol = policyText(rt, req)
	}
	for i := range out {
		out[i].RequestID = id + "-" + strconv.Itoa(i)
		if l != nil && i < len(prompts) {
			l.Write(decisionOf(&out[i], prompts[i], pol))
		}
	}
}

func decisionOf(resp *api.RouteResponse, prompt, policy string) *data.Decision {
	return &data.Decision{RequestID: resp.RequestID, Prompt: prompt, Router: resp.Router, RouterVersion: resp.Version,
		ChosenModel: resp.Model, Scores: resp.Scores, Policy: policy, LatencyUS: float64(resp.LatencyUS)}
}

// policyText is the JSON of the policy a decision was made with.
func policyText(rt *Route, req models.Request) string {
	var p models.Policy
	switch {
	case req.Policy != nil:
		p = *req.Policy
	case rt != nil && rt.Loaded != nil && rt.Loaded.Router != nil:
		p = rt.Loaded.Router.Policy
	default:
		return ""
	}
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	return string(b)
}

// chatBody is a parsed chat completion request; raw is kept to forward.
type chatBody struct {
	raw        []byte
	model      string
	modelSpans [][2]int // byte ranges of the top-level "model" values
	messages   json.RawMessage
}

// parseChat reads the top level of a chat completion request, noting
// where "model" is so that only it is replaced.
func parseChat(body []byte) (*chatBody, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: body: not a JSON object", errBadRequest)
	}
	c := &chatBody{raw: body}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid JSON body: %v", errBadRequest, err)
		}
		key, _ := kt.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: invalid JSON body: %s: %v", errBadRequest, key, err)
		}
		end := int(dec.InputOffset())
		switch key {
		case "model":
			if err := json.Unmarshal(v, &c.model); err != nil {
				return nil, fmt.Errorf("%w: model: not a string", errBadRequest)
			}
			c.modelSpans = append(c.modelSpans, [2]int{end - len(v), end})
		case "messages":
			c.messages = v
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON body: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one JSON value in the body", errBadRequest)
	}
	if c.model == "" {
		return nil, fmt.Errorf("%w: model: missing; GET /v1/models lists the routes", errBadRequest)
	}
	return c, nil
}

// withModel returns the body with every top-level "model" value replaced.
func (c *chatBody) withModel(model string) []byte {
	name, _ := json.Marshal(model)
	out := make([]byte, 0, len(c.raw)+len(name))
	prev := 0
	for _, sp := range c.modelSpans {
		out = append(out, c.raw[prev:sp[0]]...)
		out = append(out, name...)
		prev = sp[1]
	}
	return append(out, c.raw[prev:]...)
}

// prompt returns the text of the last user message: its content string,
// or the "text" parts of a content array joined by newlines.
func (c *chatBody) prompt() (string, error) {
	var msgs []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	if len(c.messages) == 0 {
		return "", fmt.Errorf("%w: messages: missing", errBadRequest)
	}
	if err := json.Unmarshal(c.messages, &msgs); err != nil {
		return "", fmt.Errorf("%w: messages: want an array of {role, content}: %v", errBadRequest, err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Role != "user" || len(m.Content) == 0 || string(m.Content) == "null" {
			continue
		}
		var text string
		if err := json.Unmarshal(m.Content, &text); err != nil {
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if err := json.Unmarshal(m.Content, &parts); err != nil {
				return "", fmt.Errorf("%w: messages[%d].content: want a string or an array of parts", errBadRequest, i)
			}
			var texts []string
			for _, p := range parts {
				if p.Type == "text" && p.Text != "" {
					texts = append(texts, p.Text)
				}
			}
			text = strings.Join(texts, "\n")
		}
		if strings.TrimSpace(text) != "" {
			return text, nil
		}
	}
	return "", fmt.Errorf("%w: messages: no user message with text", errBadRequest)
}

// resolveModel maps a chat request's model name to a router and policy.
func (s *Server) resolveModel(p *proxy, name string) (*Route, *api.Policy, error) {
	if pr, ok := p.cfg.Routes[name]; ok {
		rt, err := s.route(pr.Router)
		if err != nil {
			return nil, nil, fmt.Errorf("model %q: %w", name, err)
		}
		return rt, pr.policy(), nil
	}
	rest, ok := strings.CutPrefix(name, "router-")
	rs := s.cur.Load()
	if !ok || rest == "" || rs == nil {
		if rs == nil {
			return nil, nil, errNotReady
		}
		return nil, nil, fmt.Errorf("%w %q: want router-NAME[-X] or a configured route; GET /v1/models lists them", errUnknownModel, name)
	}
	if rt, ok := rs.byName[rest]; ok {
		return rt, nil, nil
	}
	if i := strings.LastIndexByte(rest, '-'); i > 0 {
		if rt, ok := rs.byName[rest[:i]]; ok {
			x, err := strconv.ParseFloat(rest[i+1:], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, nil, fmt.Errorf("%w %q: %q after router %s is not a number", errUnknownModel, name, rest[i+1:], rt.Name)
			}
			pol := &api.Policy{}
			if rt.Loaded.Router.Policy.Kind == models.PolicyThreshold {
				pol.Threshold = &x
			} else {
				pol.Lambda = &x
			}
			return rt, pol, nil
		}
	}
	return nil, nil, fmt.Errorf("%w %q: no such router (serving %s); GET /v1/models lists the routes",
		errUnknownModel, name, strings.Join(names(rs), ", "))
}

// proxyFail writes an error in OpenAI's shape.
func (s *Server) proxyFail(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	switch {
	case errors.Is(err, errUnknownModel), errors.Is(err, errUnknownRouter):
		status, code = http.StatusNotFound, "model_not_found"
	case errors.Is(err, errNoUpstream):
		status, code = http.StatusBadGateway, "no_upstream"
	case errors.Is(err, errUpstream):
		status, code = http.StatusBadGateway, "upstream_unreachable"
		if errors.Is(err, context.DeadlineExceeded) {
			status, code = http.StatusGatewayTimeout, "upstream_timeout"
		}
	}
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "api_error"
		s.log.Error("chat completion failed", "err", err)
	}
	writeJSON(w, status, api.Error{Error: api.ErrorBody{Code: code, Message: err.Error(), Type: typ}})
}

// handleChatCompletions routes an OpenAI chat completion and forwards it,
// changed only in "model", to the chosen model's upstream, streaming the
// answer back.
func (s *Server) handleChatCompletions(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := requestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	p := s.ext.proxy.Load()
	if p == nil {
		s.proxyFail(w, fmt.Errorf("%w: the proxy is not set up (the server was not opened)", errNotReady))
		return
	}
	// The body must arrive within the request timeout; the deadline is
	// lifted after, since one expiring mid-stream would cancel the request.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.cfg.MaxBodyBytes))
	rc.SetReadDeadline(time.Time{})
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
		}
		s.proxyFail(w, err)
		return
	}
	chat, err := parseChat(body)
	if err != nil {
		s.proxyFail(w, err)
		return
	}
	rt, pol, err := s.resolveModel(p, chat.model)
	if err != nil {
		s.proxyFail(w, err)
		return
	}
	prompt, err := chat.prompt()
	if err != nil {
		s.proxyFail(w, err)
		return
	}
	req, err := request(rt, nil, pol)
	if err != nil {
		s.proxyFail(w, err)
		return
	}
	// The route is held for the decision only, not for the stream.
	if rt, err = s.hold(rt); err != nil {
		s.proxyFail(w, err)
		return
	}
	rctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	resp, err := s.decide(rctx, rt, prompt, req, start)
	cancel()
	rt.release()
	if err != nil {
		s.proxyFail(w, err)
		return
	}
	resp.RequestID = id
	if l := s.ext.dlog.Load(); l != nil {
		l.Write(decisionOf(&resp, prompt, policyText(rt, req)))
	}
	h := w.Header()
	h.Set("X-Routekit-Model", resp.Model)
	h.Set("X-Routekit-Router", rt.Name)
	h.Set("X-Routekit-Version", rt.Version)
	up := p.upstreamOf(resp.Model)
	if up == nil {
		s.proxyFail(w, fmt.Errorf("%w for model %s, chosen by router %s: add it to proxy.upstreams, the proxy catalog or proxy.default_upstream",
			errNoUpstream, resp.Model, rt.Name))
		return
	}
	sent := up.model
	if sent == "" {
		sent = resp.Model
	}
	ctx, cancelUp := context.WithTimeout(r.Context(), p.cfg.Timeout)
	defer cancelUp()
	ureq, err := http.NewRequestWithContext(ctx, http.MethodPost, up.url, bytes.NewReader(chat.withModel(sent)))
	if err != nil {
		s.proxyFail(w, fmt.Errorf("%w: model %s: %v", errUpstream, resp.Model, err))
		return
	}
	ureq.Header.Set("Content-Type", "application/json")
	ureq.Header.Set("X-Request-Id", id)
	if a := r.Header.Get("Accept"); a != "" {
		ureq.Header.Set("Accept", a)
	}
	if up.auth != "" {
		ureq.Header.Set("Authorization", up.auth)
	}
	// The answer may stream for minutes: lift the server's write deadline
	// to this exchange's own (not supported by every ResponseWriter).
	rc.SetWriteDeadline(time.Now().Add(p.cfg.Timeout + time.Second))
	uresp, err := p.client.Do(ureq)
	if err != nil {
		if r.Context().Err() != nil {
			s.log.Debug("chat completion: client went away", "request_id", id)
			return
		}
		s.proxyFail(w, fmt.Errorf("%w: model %s at %s: %w", errUpstream, resp.Model, up.url, err))
		return
	}
	defer uresp.Body.Close()
	for k, vs := range uresp.Header {
		if copiedHeader(k) {
			h[k] = vs
		}
	}
	stream := strings.HasPrefix(uresp.Header.Get("Content-Type"), "text/event-stream")
	if stream {
		h.Set("X-Accel-Buffering", "no") // and no proxy in front should buffer it
	}
	w.WriteHeader(uresp.StatusCode)
	if stream {
		err = copyFlushing(w, rc, uresp.Body)
	} else {
		_, err = io.Copy(w, uresp.Body)
	}
	if err != nil && r.Context().Err() == nil {
		s.log.Warn("chat completion: answer cut short", "request_id", id, "model", resp.Model, "err", err)
	}
}

// copiedHeader reports whether an upstream response header is passed on.
func copiedHeader(k string) bool {
	switch k {
	case "Content-Type", "Cache-Control", "Retry-After":
		return true
	}
	return strings.HasPrefix(k, "X-Ratelimit-") || strings.HasPrefix(k, "Openai-")
}

// copyFlushing copies src to w, flushing after every read so that events
// reach the client as they arrive.
func copyFlushing(w io.Writer, rc *http.ResponseController, src io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := rc.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// handleModels lists the model names the proxy accepts, in OpenAI's shape.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	out := api.ModelList{Object: "list", Data: []api.ModelCard{}}
	rs := s.cur.Load()
	if rs == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	created := func(rt *Route) int64 {
		if rt.Loaded != nil && rt.Loaded.Manifest != nil {
			return rt.Loaded.Manifest.Created.Unix()
		}
		return 0
	}
	for _, n := range names(rs) {
		out.Data = append(out.Data, api.ModelCard{ID: "router-" + n, Object: "model", Created: created(rs.byName[n]), OwnedBy: "routekit"})
	}
	for _, name := range sortedKeys(s.cfg.Proxy.Routes) {
		if rt, ok := rs.byName[s.cfg.Proxy.Routes[name].Router]; ok {
			out.Data = append(out.Data, api.ModelCard{ID: name, Object: "model", Created: created(rt), OwnedBy: "routekit"})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
