package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/routekit/routekit/serve/fakeupstream"
)

func devCommand() *command {
	return &command{
		name:  "dev",
		short: "developer tools: a fake OpenAI-compatible upstream for the proxy",
		subs:  []*command{fakeUpstreamCommand()},
	}
}

func fakeUpstreamCommand() *command {
	return &command{
		name:  "fake-upstream",
		usage: "[--addr 127.0.0.1:9099] [--chunks N] [--chunk-delay D] [--api-key-env NAME]",
		short: "serve a fake OpenAI-compatible chat-completions API for trying the proxy",
		long: `Answers POST /v1/chat/completions without a model: "[fake MODEL] you said:
<last user message>", as JSON or, with "stream": true, as server-sent
events in --chunks pieces --chunk-delay apart. Prints its base URL
(http://ADDR/v1, for a catalog's upstream.base_url or the serve config's
proxy.default_upstream) on stdout. SIGINT or SIGTERM stops it.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			addr := fs.String("addr", "127.0.0.1:9099", "listen address (port 0 picks a free one)")
			fake := &fakeupstream.Server{}
			fs.IntVar(&fake.Chunks, "chunks", 3, "content events of a streamed answer")
			fs.DurationVar(&fake.ChunkDelay, "chunk-delay", 20*time.Millisecond, "pause between streamed events")
			keyEnv := fs.String("api-key-env", "", "require the API key held by this environment `variable`")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *keyEnv != "" {
					key, ok := os.LookupEnv(*keyEnv)
					if !ok || key == "" {
						return fmt.Errorf("--api-key-env: environment variable %s is not set", *keyEnv)
					}
					fake.APIKey = key
				}
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
				fmt.Fprintf(e.stdout, "fake upstream on http://%s/v1\n", ln.Addr())
				e.log.Info("fake upstream listening", "addr", ln.Addr().String())
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
				return err
			}
		},
	}
}
