package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
)

// Source is where a Reloader finds the routers to serve and their
// current versions; *artifact.Registry is one.
type Source interface {
	// Names returns the router names, sorted.
	Names() ([]string, error)
	// Current returns a router's CURRENT version; errors.Is(err,
	// artifact.ErrNoCurrent) when none is promoted.
	Current(name string) (artifact.Version, error)
}

// LoadFunc loads the artifact in dir: artifact.Load with the encoder
// configuration bound.
type LoadFunc func(ctx context.Context, dir string) (*artifact.Loaded, error)

// Reload results of one router (ReloadResult.Result).
const (
	// ReloadLoaded: a new version was loaded and now serves.
	ReloadLoaded = "loaded"
	// ReloadUnchanged: the CURRENT version is the one serving.
	ReloadUnchanged = "unchanged"
	// ReloadFailed: the CURRENT version was refused; the previous one
	// (if any) keeps serving.
	ReloadFailed = "failed"
	// ReloadSkipped: the CURRENT version was refused before and is not
	// retried until CURRENT changes or an admin reload forces it.
	ReloadSkipped = "skipped"
	// ReloadNoCurrent: the router has versions but none is promoted.
	ReloadNoCurrent = "no_current"
	// ReloadRemoved: the router left the registry; its last version
	// keeps serving.
	ReloadRemoved = "removed"
)

// ReloadResult is what one reload did to one router.
type ReloadResult struct {
	Router string `json:"router"`
	// Version is the CURRENT version id in the registry.
	Version string `json:"version,omitempty"`
	// Serving is the version serving after the reload; "" if none.
	Serving string `json:"serving,omitempty"`
	Result  string `json:"result"`
	Error   string `json:"error,omitempty"`
}

// smokePrompt is routed through every freshly loaded artifact before it
// may serve, so an artifact that loads but cannot route is refused.
const smokePrompt = "routekit reload check: what is 2 plus 2?"

// Reloader serves the CURRENT version of every router of a Source on a
// Server and keeps them current: Reload re-reads every CURRENT pointer
// and loads the versions that changed, Watch does so periodically.
//
// Loading happens on the caller's goroutine, off the request path; a
// loaded version is routed once (a smoke check) and then swapped in with
// Server.Set, so no request is dropped. A version that fails to load or
// route is refused: the error is logged, counted in
// routekit_reload_failures_total, shown as last_error in GET /v1/routers,
// and the previous version keeps serving. A refused version is retried
// only when CURRENT changes or on a forced (admin) reload. A router that
// leaves the Source keeps serving its last version, with a warning:
// removing a directory must not take traffic down.
//
// A Reloader is safe for concurrent use; reloads are serialised.
type Reloader struct {
	srv  *Server
	src  Source
	load LoadFunc
	log  *slog.Logger

	mu    sync.Mutex // serialises reloads; guards the fields below
	state map[string]*routerState
	last  []ReloadResult // results of the last reload
	at    time.Time      // time of the last reload
	// listErr is the last error listing the routers, logged once.
	listErr string
}

// routerState is what a Reloader knows of one router.
type routerState struct {
	serving string // the version id serving, "" if none
	tried   string // the last version attempted ("!"+error when Current failed)
	removed bool   // removal already logged
}

// NewReloader returns a Reloader that serves src's routers on s, loading
// artifacts with load, and makes s answer POST /admin/reload with it. It
// loads nothing yet: call Reload.
func NewReloader(s *Server, src Source, load LoadFunc) *Reloader {
	if s == nil || src == nil || load == nil {
		panic("serve.NewReloader: nil server, source or load function")
	}
	r := &Reloader{srv: s, src: src, load: load, log: s.log, state: map[string]*routerState{}}
	s.reloader.Store(r)
	return r
}

// Reload re-reads every router's CURRENT version and loads those that
// changed. With force it also retries versions refused before. It fails
// only when the Source cannot list its routers or ctx ends; per-router
// failures are in the results (sorted by router).
func (r *Reloader) Reload(ctx context.Context, force bool) ([]ReloadResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	names, err := r.src.Names()
	if err != nil {
		if err.Error() != r.listErr {
			r.log.Error("listing the registry's routers; serving the routers loaded", "err", err)
			r.listErr = err.Error()
		}
		return nil, fmt.Errorf("listing routers: %w", err)
	}
	r.listErr = ""
	present := map[string]bool{}
	var out []ReloadResult
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		present[name] = true
		res, err := r.reloadOne(ctx, name, force)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	for name, st := range r.state {
		if present[name] || st.serving == "" {
			continue
		}
		if !st.removed {
			r.log.Warn("router left the registry; its last version keeps serving", "router", name, "version", st.serving)
			st.removed = true
		}
		out = append(out, ReloadResult{Router: name, Serving: st.serving, Result: ReloadRemoved})
	}
	sortResults(out)
	r.srv.setDefault(r.defaultRouter())
	r.last, r.at = out, time.Now()
	return out, nil
}

// reloadOne brings one router to its CURRENT version. The error is only
// ctx's.
func (r *Reloader) reloadOne(ctx context.Context, name string, force bool) (ReloadResult, error) {
	st := r.state[name]
	if st == nil {
		st = &routerState{}
		r.state[name] = st
	}
	st.removed = false
	res := ReloadResult{Router: name, Serving: st.serving}
	v, err := r.src.Current(name)
	if errors.Is(err, artifact.ErrNoCurrent) {
		res.Result = ReloadNoCurrent
		return res, nil
	}
	token := v.ID
	if err != nil {
		token = "!" + err.Error()
	}
	res.Version = v.ID
	switch {
	case err == nil && v.ID == st.serving:
		st.tried = v.ID // CURRENT moving back to a refused version is a change
		res.Result = ReloadUnchanged
		return res, nil
	case token == st.tried && !force:
		res.Result = ReloadSkipped
		if f, ok := r.srv.failure(name); ok {
			res.Error = f.Message
		}
		return res, nil
	}
	if err == nil {
		err = r.loadVersion(ctx, name, v)
	}
	if cerr := ctx.Err(); cerr != nil {
		// Not the version's fault: try it again next time.
		return res, cerr
	}
	st.tried = token
	r.srv.metrics.reload(name, err)
	if err != nil {
		r.log.Error("router version refused; the previous version keeps serving",
			"router", name, "version", v.ID, "serving", st.serving, "err", err)
		r.srv.recordFailure(name, v.ID, err)
		res.Result, res.Error = ReloadFailed, err.Error()
		return res, nil
	}
	r.log.Info("router version loaded", "router", name, "version", v.ID, "previous", st.serving)
	st.serving = v.ID
	res.Result, res.Serving = ReloadLoaded, v.ID
	return res, nil
}

// loadVersion loads, checks and serves one version.
func (r *Reloader) loadVersion(ctx context.Context, name string, v artifact.Version) error {
	if v.Err != nil {
		return fmt.Errorf("version %s: %w", v.ID, v.Err)
	}
	l, err := r.load(ctx, v.Dir)
	if err != nil {
		return fmt.Errorf("version %s: %w", v.ID, err)
	}
	if _, err := l.Route(ctx, smokePrompt, models.Request{}); err != nil && !errors.Is(err, models.ErrNoModel) {
		l.Close() // it will never serve
		return fmt.Errorf("version %s: routing a check prompt: %w", v.ID, err)
	}
	r.srv.Set(&Route{Name: name, Version: v.ID, Loaded: l}, false)
	return nil
}

// defaultRouter is the configured default, else the only served router,
// else none.
func (r *Reloader) defaultRouter() string {
	if d := r.srv.cfg.DefaultRouter; d != "" {
		return d
	}
	only := ""
	for name, st := range r.state {
		if st.serving == "" {
			continue
		}
		if only != "" {
			return ""
		}
		only = name
	}
	return only
}

// Watch reloads every interval (Config.WatchInterval) until ctx ends.
// Failures are logged and counted by Reload; Watch never stops on them.
func (r *Reloader) Watch(ctx context.Context) {
	every := r.srv.cfg.WatchInterval
	if every <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Reload(ctx, false)
		}
	}
}

// lastReload returns the results and time of the last reload.
func (r *Reloader) lastReload() ([]ReloadResult, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReloadResult(nil), r.last...), r.at
}

func sortResults(rs []ReloadResult) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Router < rs[j].Router })
}

// loadFailure is a router's last refused version.
type loadFailure struct {
	Version string
	Message string
	At      time.Time
}

func (s *Server) recordFailure(name, version string, err error) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	s.failures[name] = loadFailure{Version: version, Message: err.Error(), At: time.Now().UTC()}
}

func (s *Server) clearFailure(name string) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	delete(s.failures, name)
}

func (s *Server) failure(name string) (loadFailure, bool) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	f, ok := s.failures[name]
	return f, ok
}

// setDefault makes name the router of requests that name none; ""
// means none.
func (s *Server) setDefault(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if old == nil || old.def == name {
		return
	}
	next := *old
	next.def = name
	s.cur.Store(&next)
}

// routerStatus describes one router in GET /v1/routers and
// GET /admin/status.
type routerStatus struct {
	Name string `json:"name"`
	// Version is the version serving; "" when none loaded yet.
	Version string   `json:"version"`
	Kind    string   `json:"kind"`
	Models  []string `json:"models"`
	Default bool     `json:"default"`
	// LastError is why the last version tried was refused, if it was.
	LastError        string     `json:"last_error,omitempty"`
	LastErrorVersion string     `json:"last_error_version,omitempty"`
	LastErrorAt      *time.Time `json:"last_error_at,omitempty"`
}

// routerInfos lists the served routers and those whose only attempt
// failed, by name.
func (s *Server) routerInfos() []routerStatus {
	out := []routerStatus{}
	seen := map[string]bool{}
	rs := s.cur.Load()
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	if rs != nil {
		for _, n := range names(rs) {
			rt := rs.byName[n]
			st := routerStatus{Name: n, Version: rt.Version, Kind: rt.Loaded.Manifest.Router,
				Models: rt.Loaded.Router.Scorer.Models(), Default: n == rs.def}
			seen[n] = true
			out = append(out, withFailure(st, s.failures)) // served routers first, by name
		}
	}
	var failedOnly []routerStatus
	for n := range s.failures {
		if !seen[n] {
			failedOnly = append(failedOnly, withFailure(routerStatus{Name: n, Models: []string{}}, s.failures))
		}
	}
	sort.Slice(failedOnly, func(i, j int) bool { return failedOnly[i].Name < failedOnly[j].Name })
	return append(out, failedOnly...)
}

func withFailure(st routerStatus, failures map[string]loadFailure) routerStatus {
	if f, ok := failures[st.Name]; ok {
		at := f.At
		st.LastError, st.LastErrorVersion, st.LastErrorAt = f.Message, f.Version, &at
	}
	return st
}

// admin guards an /admin handler with the bearer token: 403 when no
// token is configured, 401 with WWW-Authenticate when the request's is
// missing or wrong.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			writeError(w, http.StatusForbidden, "admin_disabled",
				"admin endpoints are disabled: set admin_token in the config file or the environment variable named by admin_token_env (default ROUTEKIT_ADMIN_TOKEN)")
			return
		}
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="routekit"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing Authorization: Bearer <admin token>")
			return
		}
		if !tokenEqual(tok, s.cfg.AdminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="routekit", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "wrong admin token")
			return
		}
		h(w, r)
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header value; the scheme is case-insensitive (RFC 6750).
func bearerToken(h string) (string, bool) {
	const scheme = "bearer "
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(scheme):])
	return tok, tok != ""
}

// tokenEqual compares in constant time; hashing first hides the length.
func tokenEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// handleAdminReload re-reads the registry now, retrying refused
// versions: 200 with the per-router results, 422 (code reload_failed,
// with the results) when a version was refused, 409 without a registry.
func (s *Server) handleAdminReload(w http.ResponseWriter, r *http.Request) {
	rl := s.reloader.Load()
	if rl == nil {
		writeError(w, http.StatusConflict, "no_registry", "reload needs a registry (routekit serve --registry); this server serves a standalone artifact")
		return
	}
	res, err := rl.Reload(r.Context(), true)
	if err != nil {
		s.fail(w, fmt.Errorf("reloading: %w", err))
		return
	}
	if res == nil {
		res = []ReloadResult{}
	}
	var failed []string
	for _, x := range res {
		if x.Result == ReloadFailed {
			failed = append(failed, x.Router)
		}
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error":   map[string]string{"code": "reload_failed", "message": "refused the CURRENT version of " + strings.Join(failed, ", ") + "; the previous versions keep serving"},
			"results": res})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": res})
}

// handleAdminStatus reports the routers, with their last errors, and the
// last reload.
func (s *Server) handleAdminStatus(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"routers": s.routerInfos()}
	if rl := s.reloader.Load(); rl != nil {
		res, at := rl.lastReload()
		if res == nil {
			res = []ReloadResult{}
		}
		out["last_reload"] = map[string]any{"time": at.UTC(), "results": res}
		out["watch_interval"] = s.cfg.WatchInterval.String()
	}
	writeJSON(w, http.StatusOK, out)
}
