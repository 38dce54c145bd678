package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/routekit/routekit/models/artifact"
	"github.com/routekit/routekit/models/encoder"
	"github.com/routekit/routekit/serve"
)

// shutdownGrace bounds how long in-flight requests may take to finish.
const shutdownGrace = 10 * time.Second

func serveCommand() *command {
	return &command{
		name:  "serve",
		usage: "--artifact DIR [--name N] [--addr :8080]",
		short: "serve an artifact's routing decisions over HTTP",
		long: `Endpoints: POST /v1/route {"prompt" | "messages", "models"?, "policy"?:
{"threshold" | "lambda" | "max_cost"}} -> {"model", "scores", "difficulty"?,
"router", "version", "latency_us"}; POST /v1/route/batch {"prompts": [...]};
GET /v1/routers, /healthz, /readyz. Errors are JSON {"error": {"code",
"message"}}. SIGINT or SIGTERM stops accepting and lets requests finish.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			dir := fs.String("artifact", "", "artifact `directory` to serve")
			name := fs.String("name", "", "router name (default: the artifact folder's name)")
			addr := fs.String("addr", ":8080", "listen address")
			ort := fs.String("ort-lib", ortLibrary(), "ONNX Runtime library `file` for artifacts with an ONNX encoder")
			cfg := serve.DefaultConfig()
			fs.Int64Var(&cfg.MaxBodyBytes, "max-body", cfg.MaxBodyBytes, "request body limit in bytes")
			fs.DurationVar(&cfg.RequestTimeout, "timeout", cfg.RequestTimeout, "time limit of one request")
			return func(ctx context.Context, e *env, args []string) error {
				if *dir == "" {
					return usagef("--artifact is required")
				}
				l, err := artifact.Load(ctx, *dir, encoder.ONNXConfig{LibraryPath: *ort})
				if err != nil {
					return err
				}
				n := *name
				if n == "" {
					n = filepath.Base(filepath.Clean(*dir))
				}
				s := serve.New(cfg, e.log)
				s.Set(&serve.Route{Name: n, Version: l.Manifest.Created.Format("20060102T150405Z"), Loaded: l}, true)
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second,
					ReadTimeout: cfg.RequestTimeout, WriteTimeout: cfg.RequestTimeout + time.Second, IdleTimeout: time.Minute}
				fmt.Fprintf(e.stdout, "serving router %s (%s, %d models) on http://%s\n", n, l.Manifest.Router, len(l.Manifest.Models), ln.Addr())
				e.log.Info("listening", "addr", ln.Addr().String(), "router", n)
				errc := make(chan error, 1)
				go func() { errc <- srv.Serve(ln) }()
				select {
				case err := <-errc:
					return err
				case <-ctx.Done():
				}
				sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
				defer cancel()
				err = srv.Shutdown(sctx)
				if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
					err = serr
				}
				e.log.Info("stopped", "router", n)
				return err
			}
		},
	}
}
