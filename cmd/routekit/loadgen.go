package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/routekit/routekit/serve/api"
	"github.com/routekit/routekit/serve/loadgen"
)

// syntheticPrompts is how many synthetic prompts loadgen cycles through
// without --prompts.
const syntheticPrompts = 1000

func loadgenCommand() *command {
	return &command{
		name:  "loadgen",
		usage: "[--url URL] [--rate R | --max [--workers N]] [--duration D] [--prompts FILE] [--json] [--out FILE]",
		short: "generate load on a route endpoint and report latency and throughput",
		long: `Open loop (default): requests at a constant --rate, each with a scheduled send
time; latency counts from that time, so queueing shows (no coordinated
omission); at most --workers requests in flight. --max: a closed loop of
--workers workers back to back, for the maximum throughput. Requests of the
--warmup are not counted. Bodies are {"prompt": P} for the prompts of --prompts
(a data file of outcomes or battles, or a text file with one prompt a line),
cycled, or 1000 synthetic prompts. The generator shares the machine with the
server it measures on loopback; GOMAXPROCS bounds the cores it uses.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			cfg := loadgen.Config{Duration: loadgen.DefaultDuration, Timeout: loadgen.DefaultTimeout, Warmup: time.Second}
			fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080/v1/route", "`URL` to POST to")
			fs.Float64Var(&cfg.Rate, "rate", 1000, "open loop: requests per second")
			closed := fs.Bool("max", false, "closed loop at maximum throughput (--rate is ignored)")
			fs.IntVar(&cfg.Concurrency, "workers", 0, fmt.Sprintf("closed loop: workers (default %d); open loop: limit on requests in flight (default %d)",
				loadgen.DefaultClosedConcurrency, loadgen.DefaultOpenConcurrency))
			fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured period")
			fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured period before it")
			fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "time limit of one request (and of an open loop's wait for a slot)")
			prompts := fs.String("prompts", "", "`file` of prompts: outcomes or battles (.jsonl, .json, .csv, .parquet) or text, one a line (default: synthetic)")
			router := fs.String("router", "", "router name to put in each request (default: the server's default)")
			asJSON := fs.Bool("json", false, "print the result as JSON")
			out := fs.String("out", "", "also write the JSON result to `file`")
			failOnError := fs.Bool("fail-on-error", false, "exit 1 when any request failed")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *closed {
					cfg.Rate = 0
				} else if cfg.Rate <= 0 {
					return usagef("--rate %v: want a positive rate, or --max", cfg.Rate)
				}
				if cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Timeout <= 0 || cfg.Concurrency < 0 {
					return usagef("--duration and --timeout must be positive, --warmup and --workers not negative")
				}
				var ps []string
				var err error
				if *prompts != "" {
					ps, err = loadgen.LoadPrompts(ctx, *prompts)
				} else {
					ps, err = loadgen.SyntheticPrompts(syntheticPrompts, 1)
				}
				if err != nil {
					return err
				}
				if cfg.Bodies, err = loadgen.RouteBodies(ps, api.RouteRequest{Router: *router}); err != nil {
					return err
				}
				if err := cfg.Validate(); err != nil {
					return usagef("%v", strings.TrimPrefix(err.Error(), "loadgen: "))
				}
				e.log.Info("generating load", "url", cfg.URL, "rate", cfg.Rate, "workers", cfg.Concurrency,
					"duration", cfg.Duration, "warmup", cfg.Warmup, "prompts", len(ps))
				res, runErr := loadgen.Run(ctx, cfg)
				if res == nil {
					return runErr
				}
				js, err := json.MarshalIndent(res, "", "  ")
				if err != nil {
					return err
				}
				js = append(js, '\n')
				if *out != "" {
					if err := os.WriteFile(*out, js, 0o644); err != nil {
						return fmt.Errorf("writing the result: %w", err)
					}
				}
				if *asJSON {
					if _, err := e.stdout.Write(js); err != nil {
						return err
					}
				} else {
					printLoad(e.stdout, cfg, len(ps), res)
				}
				if runErr != nil {
					return fmt.Errorf("interrupted: %w", runErr)
				}
				if *failOnError && res.Errors > 0 {
					return fmt.Errorf("%d of %d requests failed", res.Errors, res.Sent)
				}
				return nil
			}
		},
	}
}

// printLoad prints a result as a small table.
func printLoad(w io.Writer, cfg loadgen.Config, prompts int, r *loadgen.Result) {
	mode := fmt.Sprintf("closed loop, %d workers", r.Concurrency)
	if r.Open {
		mode = fmt.Sprintf("open loop at %g req/s, at most %d in flight", r.Rate, r.Concurrency)
	}
	fmt.Fprintf(w, "%s: %s, %v measured after %v warmup, %d prompts\n", cfg.URL, mode, r.Duration, cfg.Warmup, prompts)
	fmt.Fprintf(w, "requests: %d sent, %d ok, %d errors; %.1f req/s over %.2fs\n", r.Sent, r.OK, r.Errors, r.RPS, r.Elapsed.Seconds())
	if r.Errors > 0 {
		var parts []string
		for _, k := range r.Kinds() {
			parts = append(parts, fmt.Sprintf("%s: %d", k, r.ErrorKinds[k]))
		}
		fmt.Fprintf(w, "errors: %s\n", strings.Join(parts, ", "))
		for _, k := range r.Kinds() {
			fmt.Fprintf(w, "  first %s: %s\n", k, r.ErrorExamples[k])
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ms\tp50\tp90\tp99\tp99.9\tmax\tmean\tcount\t")
	row := func(name string, s loadgen.Summary) {
		if s.Count == 0 {
			return
		}
		ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", name, ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max), ms(s.Mean), s.Count)
	}
	row("latency", r.Latency)
	row("server", r.Server)
	if r.Open {
		row("send lag", r.SendLag)
		row("service", r.Service)
	}
	tw.Flush()
}
