package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/serve"
)

// shutdownGrace bounds how long in-flight requests may take to finish.
const shutdownGrace = 10 * time.Second

func serveCommand() *command {
	return &command{
		name:  "serve",
		usage: "--registry ROOT | --artifact DIR [--config serve.yaml] [--addr :8080] [--default N]",
		short: "serve routing decisions over HTTP, from a registry or one artifact",
		long: `With --registry, serves the CURRENT version of every router in the registry
and follows promotions: CURRENT files are polled every watch_interval (2s) and
POST /admin/reload re-reads them now; a version that fails to load is refused,
logged, counted and shown as last_error in /v1/routers, and the previous
version keeps serving. With --artifact, serves that one artifact.

Endpoints: POST /v1/route {"router"?, "prompt" | "messages", "models"?,
"policy"?: {"threshold" | "lambda" | "max_cost"}} -> {"model", "scores",
"difficulty"?, "router", "version", "latency_us"}; POST /v1/route/batch
{"prompts": [...]}; GET /v1/routers, /healthz, /readyz; GET /metrics
(Prometheus, same listener); POST /admin/reload and GET /admin/status with
"Authorization: Bearer TOKEN" (admin_token in the config, or the variable
named by admin_token_env, default ROUTEKIT_ADMIN_TOKEN; without a token the
admin endpoints answer 403). Errors are JSON {"error": {"code", "message"}}.

--config reads a YAML file (keys: addr, registry | artifact, default_router,
watch_interval, admin_token, admin_token_env, max_body_bytes, max_batch,
request_timeout, proxy, decision_log, onnx: {sessions, intra_op_threads});
flags given on the command line win (--onnx-sessions, --onnx-threads).
SIGINT or SIGTERM stops accepting, lets requests finish (10s) and exits.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			configFile := fs.String("config", "", "YAML config `file` (flags override it)")
			registry := fs.String("registry", "", "registry `root` whose CURRENT versions are served")
			dir := fs.String("artifact", "", "artifact `directory` to serve (instead of --registry)")
			name := fs.String("name", "", "router name of --artifact (default: the artifact folder's name)")
			addr := fs.String("addr", ":8080", "listen address")
			def := fs.String("default", "", "router of requests that name none (default: the only one)")
			var of onnxFlags
			of.register(fs)
			maxBody := fs.Int64("max-body", 0, "request body limit in bytes (default 1 MiB)")
			timeout := fs.Duration("timeout", 0, "time limit of one request (default 10s)")
			watch := fs.Duration("watch-interval", 0, "how often the registry is polled (default 2s; negative: never)")
			catalog := fs.String("catalog", "", "model catalog `file` whose upstream entries the proxy forwards to (proxy.catalog)")
			decisionLog := fs.String("decision-log", "", "decision log `file` (JSONL, rotated; decision_log.path)")
			logPrompts := fs.Bool("log-prompts", false, "write prompt texts into the decision log (decision_log.include_prompt)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				cfg := serve.DefaultConfig()
				if *configFile != "" {
					var err error
					if cfg, err = serve.LoadConfig(*configFile); err != nil {
						return err
					}
				}
				// Flags given on the command line win over the file.
				var sourceFlag bool
				fs.Visit(func(f *flag.Flag) {
					switch f.Name {
					case "registry":
						cfg.Registry, cfg.Artifact, sourceFlag = *registry, "", true
					case "artifact":
						cfg.Artifact, cfg.Registry, sourceFlag = *dir, "", true
					case "addr":
						cfg.Addr = *addr
					case "default":
						cfg.DefaultRouter = *def
					case "max-body":
						cfg.MaxBodyBytes = *maxBody
					case "timeout":
						cfg.RequestTimeout = *timeout
					case "watch-interval":
						cfg.WatchInterval = *watch
					case "catalog":
						cfg.Proxy.Catalog = *catalog
					case "decision-log":
						cfg.DecisionLog.Path = *decisionLog
					case "log-prompts":
						cfg.DecisionLog.IncludePrompt = *logPrompts
					case flagONNXSessions:
						cfg.ONNX.Sessions = of.cfg.Sessions
					case flagONNXThreads:
						cfg.ONNX.IntraOpThreads = of.cfg.IntraOpThreads
					}
				})
				if sourceFlag && *registry != "" && *dir != "" {
					return usagef("give --registry or --artifact, not both")
				}
				if cfg.Registry == "" && cfg.Artifact == "" {
					return usagef("give --registry ROOT or --artifact DIR (or registry/artifact in --config)")
				}
				if err := cfg.Validate(); err != nil {
					return usagef("%v", err)
				}
				if cfg.AdminToken == "" {
					cfg.AdminToken = os.Getenv(cfg.AdminTokenEnv)
				}
				onnx, err := of.config()
				if err != nil {
					return err
				}
				onnx.Sessions, onnx.IntraOpThreads = cfg.ONNX.Sessions, cfg.ONNX.IntraOpThreads
				load := func(ctx context.Context, dir string) (*artifact.Loaded, error) {
					return artifact.Load(ctx, dir, onnx)
				}
				s := serve.New(cfg, e.log)
				var rl *serve.Reloader
				if cfg.Registry != "" {
					var err error
					if rl, err = serveRegistry(ctx, e, s, cfg, load); err != nil {
						return err
					}
				} else {
					l, err := load(ctx, cfg.Artifact)
					if err != nil {
						return err
					}
					n := *name
					if n == "" {
						n = filepath.Base(filepath.Clean(cfg.Artifact))
					}
					if cfg.DefaultRouter != "" && cfg.DefaultRouter != n {
						return usagef("--default %s: the artifact is served as %s", cfg.DefaultRouter, n)
					}
					v := l.Manifest.Created.UTC().Format("20060102T150405Z")
					s.Set(&serve.Route{Name: n, Version: v, Loaded: l}, true)
					fmt.Fprintf(e.stdout, "router %s: %s %s, %d models (artifact %s)\n", n, l.Manifest.Router, v, len(l.Manifest.Models), cfg.Artifact)
				}
				if err := s.Open(os.LookupEnv); err != nil {
					return err
				}
				defer func() {
					if err := s.Close(); err != nil {
						e.log.Error("closing the server", "err", err)
					}
				}()
				ln, err := net.Listen("tcp", cfg.Addr)
				if err != nil {
					return err
				}
				admin := "disabled (no token)"
				if cfg.AdminToken != "" {
					admin = "enabled"
				}
				fmt.Fprintf(e.stdout, "serving on http://%s (metrics at /metrics, admin %s)\n", ln.Addr(), admin)
				e.log.Info("listening", "addr", ln.Addr().String())

				var wg sync.WaitGroup
				wctx, stopWatch := context.WithCancel(ctx)
				if rl != nil {
					wg.Add(1)
					go func() { defer wg.Done(); rl.Watch(wctx) }()
				}
				err = s.Serve(ctx, ln, shutdownGrace)
				stopWatch() // Serve also returns when the listener fails, before ctx ends
				wg.Wait()
				e.log.Info("stopped")
				return err
			}
		},
	}
}

// serveRegistry loads the CURRENT version of every router of the
// registry; it fails when none loads, or the configured default is not
// among them.
func serveRegistry(ctx context.Context, e *env, s *serve.Server, cfg serve.Config, load serve.LoadFunc) (*serve.Reloader, error) {
	if fi, err := os.Stat(cfg.Registry); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("registry %s: not a directory", cfg.Registry)
	}
	reg, err := artifact.OpenRegistry(cfg.Registry)
	if err != nil {
		return nil, err
	}
	rl := serve.NewReloader(s, reg, load)
	res, err := rl.Reload(ctx, false)
	if err != nil {
		return nil, err
	}
	var served, failed []string
	for _, r := range res {
		switch r.Result {
		case serve.ReloadLoaded:
			served = append(served, r.Router)
			fmt.Fprintf(e.stdout, "router %s: %s\n", r.Router, r.Serving)
		case serve.ReloadFailed:
			failed = append(failed, r.Router+": "+r.Error)
			fmt.Fprintf(e.stdout, "router %s: REFUSED %s: %s\n", r.Router, r.Version, r.Error)
		case serve.ReloadNoCurrent:
			fmt.Fprintf(e.stdout, "router %s: no CURRENT version, not served\n", r.Router)
		}
	}
	if len(served) == 0 {
		if len(failed) > 0 {
			return nil, fmt.Errorf("registry %s: no router loads: %s", cfg.Registry, strings.Join(failed, "; "))
		}
		return nil, fmt.Errorf("registry %s: no router with a CURRENT version", cfg.Registry)
	}
	if d := cfg.DefaultRouter; d != "" {
		found := false
		for _, n := range served {
			found = found || n == d
		}
		if !found {
			return nil, fmt.Errorf("default router %s: not served (serving %s)", d, strings.Join(served, ", "))
		}
	}
	return rl, nil
}
