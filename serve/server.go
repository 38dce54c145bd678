package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/serve/api"
)

// Config configures a Server; LoadConfig reads it from a YAML file whose
// keys are the yaml tags. Zero fields mean the defaults.
type Config struct {
	// Addr is the listen address, for the command; default ":8080".
	Addr string `yaml:"addr"`
	// Registry is the registry root whose CURRENT versions are served;
	// exclusive with Artifact. Used by the command and the Reloader.
	Registry string `yaml:"registry"`
	// Artifact is one standalone artifact directory to serve.
	Artifact string `yaml:"artifact"`
	// DefaultRouter names the router of requests that name none; empty
	// means the only router served (with several, such requests fail).
	DefaultRouter string `yaml:"default_router"`
	// WatchInterval is how often the registry's CURRENT pointers are
	// polled; default 2 s, negative disables the watch.
	WatchInterval time.Duration `yaml:"watch_interval"`
	// AdminToken is the bearer token of the /admin endpoints; empty
	// disables them (403). The command fills it from the environment
	// variable AdminTokenEnv when the file gives none.
	AdminToken string `yaml:"admin_token"`
	// AdminTokenEnv names the environment variable holding the admin
	// token; default ROUTEKIT_ADMIN_TOKEN. Read by the command only.
	AdminTokenEnv string `yaml:"admin_token_env"`
	// MaxBodyBytes limits a request body; default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch limits the prompts of one batch request; default 1024.
	MaxBatch int `yaml:"max_batch"`
	// RequestTimeout bounds the handling of one request (not of a
	// streamed proxy response); default 10 s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// Proxy configures POST /v1/chat/completions (proxy.go).
	Proxy ProxyConfig `yaml:"proxy"`
	// DecisionLog configures the decision log (decisionlog.go); off
	// without a path.
	DecisionLog DecisionLogConfig `yaml:"decision_log"`
	// ONNX says how the ONNX encoders of the served artifacts run (onnx:
	// sessions, intra_op_threads); read by the command, which opens the
	// artifacts.
	ONNX ONNXConfig `yaml:"onnx"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Addr: ":8080", WatchInterval: 2 * time.Second, AdminTokenEnv: "ROUTEKIT_ADMIN_TOKEN",
		MaxBodyBytes: 1 << 20, MaxBatch: 1024, RequestTimeout: 10 * time.Second}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.WatchInterval == 0 {
		c.WatchInterval = d.WatchInterval
	}
	if c.AdminTokenEnv == "" {
		c.AdminTokenEnv = d.AdminTokenEnv
	}
	return c
}

// Route is one served router: a name, the version of its artifact and the
// loaded artifact itself. Its fields are immutable. Once Set, a Route is
// reference-counted: the server holds it while it serves it and every
// request holds it while it uses its encoder, and when Set replaces it
// the last of them closes its encoder (an ONNX encoder's sessions). A
// replaced Route must not be Set again.
type Route struct {
	Name    string
	Version string
	Loaded  *artifact.Loaded

	refs atomic.Int64 // 0: not served yet, or replaced and released
}

// acquire takes a reference unless the route was replaced and released.
func (rt *Route) acquire() bool {
	for {
		n := rt.refs.Load()
		if n <= 0 {
			return false
		}
		if rt.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the encoder.
func (rt *Route) release() {
	if rt.refs.Add(-1) == 0 && rt.Loaded != nil {
		rt.Loaded.Close()
	}
}

// routes is the immutable set of served routers, swapped whole.
type routes struct {
	byName map[string]*Route
	def    string // the default router's name; "" when none
	// decisions holds each router's resolved decision counters by model.
	decisions map[string]map[string]prometheus.Counter
}

// Server serves routing decisions over HTTP. It is safe for concurrent
// use: Set swaps the routers atomically, and in-flight requests finish on
// the router they started with.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	cur     atomic.Pointer[routes]
	mu      sync.Mutex // serialises Set and setDefault

	// reloader serves POST /admin/reload; nil without a registry.
	reloader atomic.Pointer[Reloader]

	statusMu sync.Mutex // guards failures
	// failures holds each router's last refused version, cleared when
	// a version of it loads.
	failures map[string]loadFailure

	ext extras // the proxy and the decision log, set by Open (proxy.go)
}

// New returns a server with no router; /readyz fails until Set. A nil
// logger discards.
func New(cfg Config, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg.withDefaults(), log: log, metrics: newMetrics(), failures: map[string]loadFailure{}}
	s.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "routekit_decision_log_errors_total",
		Help: "Decisions the decision log lost to write errors.",
	}, func() float64 { return float64(s.DecisionLogErrors()) }))
	return s
}

// Metrics returns the server's Prometheus registry, served at
// GET /metrics, so other parts can register their collectors on it.
func (s *Server) Metrics() *prometheus.Registry { return s.metrics.reg }

// Set serves r under its name, replacing a router of that name; def makes
// it the default (the first router set is the default too).
func (s *Server) Set(r *Route, def bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &routes{byName: map[string]*Route{}, decisions: map[string]map[string]prometheus.Counter{}}
	old := s.cur.Load()
	if old != nil {
		for k, v := range old.byName {
			next.byName[k] = v
			next.decisions[k] = old.decisions[k]
		}
		next.def = old.def
	}
	prev := next.byName[r.Name]
	if prev != r {
		r.refs.Store(1) // the server's reference, taken before requests can see r
	}
	next.byName[r.Name] = r
	kind, cands := "", []string(nil)
	if r.Loaded != nil {
		if r.Loaded.Manifest != nil {
			kind = r.Loaded.Manifest.Router
		}
		if r.Loaded.Router != nil {
			cands = r.Loaded.Router.Scorer.Models()
		}
	}
	next.decisions[r.Name] = s.metrics.decisionCounters(r.Name, cands)
	if def || old == nil {
		next.def = r.Name
	}
	s.cur.Store(next)
	if prev != nil && prev != r {
		prev.release() // closed now, or when its last request ends
	}
	s.metrics.served(r.Name, r.Version, kind, time.Now())
	s.clearFailure(r.Name)
	s.log.Info("serving router", "router", r.Name, "version", r.Version, "default", next.def == r.Name)
}

// Handler returns the HTTP handler: the API, GET /metrics and the
// token-protected /admin endpoints, instrumented (see metrics.go).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("POST /admin/reload", s.admin(s.handleAdminReload))
	mux.HandleFunc("GET /admin/status", s.admin(s.handleAdminStatus))
	mux.HandleFunc("POST /v1/route", s.handleRoute)
	mux.HandleFunc("POST /v1/route/batch", s.handleBatch)
	mux.HandleFunc("GET /v1/routers", s.handleRouters)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChatCompletions)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.handleReady)
	for _, path := range []string{"/v1/route", "/v1/route/batch"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" "+r.URL.Path+": use POST")
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.instrument(mux)
}

// Errors mapped to HTTP statuses by statusOf.
var (
	errBadRequest    = errors.New("bad request")
	errUnknownRouter = errors.New("unknown router")
	errNotReady      = errors.New("no router loaded")
)

// statusOf maps an error to an HTTP status and a stable code.
func statusOf(err error) (int, string) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, "body_too_large"
	case errors.Is(err, errBadRequest), errors.Is(err, models.ErrNotCandidate):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, errUnknownRouter):
		return http.StatusNotFound, "unknown_router"
	case errors.Is(err, errNotReady):
		return http.StatusServiceUnavailable, "not_ready"
	case errors.Is(err, models.ErrNoModel):
		return http.StatusUnprocessableEntity, "no_model"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, context.Canceled):
		return 499, "canceled"
	}
	return http.StatusInternalServerError, "internal"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: api.ErrorBody{Code: code, Message: msg}})
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status, code := statusOf(err)
	if status >= 500 {
		s.log.Error("request failed", "err", err)
	}
	writeError(w, status, code, err.Error())
}

// decode reads a JSON body strictly, within the size limit.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("%w: invalid JSON body: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: more than one JSON value in the body", errBadRequest)
	}
	return nil
}

func (s *Server) route(name string) (*Route, error) {
	rs := s.cur.Load()
	if rs == nil {
		return nil, errNotReady
	}
	if name == "" {
		if rs.def == "" {
			return nil, fmt.Errorf("%w: router: no default router; name one of %s", errBadRequest, strings.Join(names(rs), ", "))
		}
		name = rs.def
	}
	rt, ok := rs.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (serving %s)", errUnknownRouter, name, strings.Join(names(rs), ", "))
	}
	return rt, nil
}

// use resolves a router by name (see route) and holds it for a request
// that will use its encoder; the caller releases it.
func (s *Server) use(name string) (*Route, error) {
	rt, err := s.route(name)
	if err != nil {
		return nil, err
	}
	return s.hold(rt)
}

// hold takes a reference on rt, or, when rt was replaced and released
// since the request found it, on the route now served under its name.
// The caller releases it.
func (s *Server) hold(rt *Route) (*Route, error) {
	for !rt.acquire() {
		rs := s.cur.Load()
		if rs == nil {
			return nil, errNotReady
		}
		next := rs.byName[rt.Name]
		if next == nil || next == rt {
			return nil, errNotReady // the server is closed
		}
		rt = next
	}
	return rt, nil
}

func names(rs *routes) []string {
	out := make([]string, 0, len(rs.byName))
	for n := range rs.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// request turns the wire policy into a models.Request.
func request(rt *Route, models_ []string, p *api.Policy) (models.Request, error) {
	req := models.Request{Models: models_}
	if p == nil {
		return req, nil
	}
	pol := rt.Loaded.Router.Policy
	n := 0
	if p.Threshold != nil {
		if pol.Kind != models.PolicyThreshold {
			return req, fmt.Errorf("%w: policy.threshold: router %s routes by utility; give lambda or max_cost", errBadRequest, rt.Name)
		}
		pol.Threshold = *p.Threshold
		n++
	}
	if p.Lambda != nil {
		pol = models.Policy{Kind: models.PolicyUtility, Lambda: *p.Lambda, MaxCost: pol.MaxCost}
		n++
	}
	if p.MaxCost != nil {
		pol.MaxCost = *p.MaxCost
	}
	if n > 1 {
		return req, fmt.Errorf("%w: policy: give threshold or lambda, not both", errBadRequest)
	}
	if err := pol.Validate(rt.Loaded.Router.Scorer.Models()); err != nil {
		return req, fmt.Errorf("%w: policy: %v", errBadRequest, err)
	}
	req.Policy = &pol
	return req, nil
}

// promptOf returns the routed text: the prompt, or the last user turn.
func promptOf(prompt string, msgs []api.Message) (string, error) {
	if prompt != "" && len(msgs) > 0 {
		return "", fmt.Errorf("%w: give prompt or messages, not both", errBadRequest)
	}
	if prompt != "" {
		return prompt, nil
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" && strings.TrimSpace(msgs[i].Content) != "" {
			return msgs[i].Content, nil
		}
	}
	return "", fmt.Errorf("%w: no prompt and no user message", errBadRequest)
}

func (s *Server) decide(ctx context.Context, rt *Route, prompt string, req models.Request, start time.Time) (api.RouteResponse, error) {
	d, err := rt.Loaded.Route(ctx, prompt, req)
	if err != nil {
		return api.RouteResponse{}, err
	}
	s.countDecision(rt.Name, d.Model)
	return api.RouteResponse{Model: d.Model, Scores: d.Scores, Difficulty: d.Difficulty, Router: rt.Name,
		Version: rt.Version, LatencyUS: time.Since(start).Microseconds()}, nil
}

func (s *Server) handleRoute(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	var in api.RouteRequest
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	rt, err := s.use(in.Router)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer rt.release()
	prompt, err := promptOf(in.Prompt, in.Messages)
	if err != nil {
		s.fail(w, err)
		return
	}
	req, err := request(rt, in.Models, in.Policy)
	if err != nil {
		s.fail(w, err)
		return
	}
	resp, err := s.decide(ctx, rt, prompt, req, start)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.logDecision(w, r, rt, prompt, req, &resp)
	writeRoute(w, &resp)
}

// routeBufs recycles the buffers route responses are encoded into.
var routeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeRoute writes a decision as writeJSON would, without reflection
// (api.RouteResponse.AppendJSON): the route endpoint's hot path.
func writeRoute(w http.ResponseWriter, resp *api.RouteResponse) {
	bp := routeBufs.Get().(*[]byte)
	b := append(resp.AppendJSON((*bp)[:0]), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		routeBufs.Put(bp)
	}
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	var in api.BatchRequest
	if err := s.decode(w, r, &in); err != nil {
		s.fail(w, err)
		return
	}
	if len(in.Prompts) == 0 || len(in.Prompts) > s.cfg.MaxBatch {
		s.fail(w, fmt.Errorf("%w: prompts: %d given, want 1 to %d", errBadRequest, len(in.Prompts), s.cfg.MaxBatch))
		return
	}
	rt, err := s.use(in.Router)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer rt.release()
	req, err := request(rt, in.Models, in.Policy)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := api.BatchResponse{Decisions: make([]api.RouteResponse, len(in.Prompts))}
	for i, p := range in.Prompts {
		if strings.TrimSpace(p) == "" {
			s.fail(w, fmt.Errorf("%w: prompts[%d] is empty", errBadRequest, i))
			return
		}
		if out.Decisions[i], err = s.decide(ctx, rt, p, req, start); err != nil {
			s.fail(w, err)
			return
		}
	}
	s.logBatch(w, r, rt, in.Prompts, req, out.Decisions)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRouters(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"routers": s.routerInfos()})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.cur.Load() == nil {
		s.fail(w, errNotReady)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Serve answers on ln until ctx ends, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish for up to grace, and
// then closes the connections left (long proxy streams). The http.Server
// has no read or write timeout, so streams are not cut; the handler sets
// per-request deadlines instead (see instrument). When ln fails first,
// Serve shuts down the same way, so that no connection outlives it. It
// returns nil after a shutdown, else the serving error.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var serveErr error
	select {
	case err := <-errc:
		// The connections already accepted are still being served:
		// shut them down as after ctx, then report the error.
		serveErr = fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		s.log.Warn("requests still running after the shutdown grace; closing them", "grace", grace, "err", err)
		err = srv.Close()
	}
	if serveErr != nil {
		return serveErr
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
