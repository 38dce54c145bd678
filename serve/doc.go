// Package serve exposes trained routers over HTTP: a route handler that
// returns the chosen model for a prompt, and an OpenAI-compatible proxy
// handler (chat completions) that routes each request and forwards it to the
// chosen upstream model. It also owns the service metrics, hot reload of
// router artifacts without dropping requests, and the decision log that
// records every routing decision.
//
// Durations are measured in seconds and costs in USD. Handlers are safe for
// concurrent use; a reload swaps the active router atomically, so in-flight
// requests finish on the router they started with. serve loads artifacts
// through package models and never imports package train.
//
// # Serving a registry
//
// A Reloader serves the CURRENT version of every router of an
// artifact.Registry (a Source) and follows promotions: Reload re-reads the
// CURRENT pointers and loads the versions that changed, Watch polls every
// Config.WatchInterval (polling works on every filesystem), and
// POST /admin/reload forces a reload that also retries refused versions.
// A new version is loaded and routed once off the request path, then
// swapped in; a version that fails is refused (logged, counted, shown as
// last_error in GET /v1/routers) and the old one keeps serving. A router
// that leaves the registry keeps serving its last version. A replaced
// version's encoder (an ONNX encoder's sessions) is closed when the last
// request using it ends, so a long-running server that follows monthly
// promotions holds one encoder per router.
//
// # Metrics
//
// GET /metrics serves a Prometheus registry owned by the Server (Metrics
// returns it; never the global one): routekit_requests_total{endpoint,
// code}, routekit_request_duration_seconds{endpoint} (50 µs to 10 s),
// routekit_decisions_total{router,model}, routekit_router_info{router,
// version,kind}, routekit_router_loaded_timestamp_seconds{router},
// routekit_reloads_total{router,result}, routekit_reload_failures_total
// {router}, routekit_decision_log_errors_total, and the Go and process
// collectors. The endpoint label is the path of the matched route
// pattern, or "other", never a raw path.
//
// # Admin and limits
//
// The /admin endpoints need "Authorization: Bearer <Config.AdminToken>"
// (compared in constant time): 401 with WWW-Authenticate when it is
// missing or wrong, 403 when no token is configured. Every 4xx and 5xx
// has a JSON body {"error": {"code", "message"}}. Request bodies are
// limited by Config.MaxBodyBytes; route requests by Config.RequestTimeout
// (a context timeout and connection deadlines); streamed proxy responses
// by the proxy's own timeout, since Serve's http.Server has no write
// timeout. Serve shuts down gracefully when its context ends.
//
// # Configuration
//
// LoadConfig reads Config from YAML, strictly (unknown keys are errors
// with their line):
//
//	addr: ":8080"
//	registry: /srv/routers     # or artifact: DIR
//	default_router: mf         # default: the only router
//	watch_interval: 2s
//	admin_token_env: ROUTEKIT_ADMIN_TOKEN
//	max_body_bytes: 1048576
//	max_batch: 1024
//	request_timeout: 10s
//	proxy: {...}               # ProxyConfig
//	decision_log: {...}        # DecisionLogConfig
package serve
