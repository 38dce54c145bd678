package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/routekit/routekit/models"
	"github.com/routekit/routekit/models/artifact"
)

func routeCommand() *command {
	return &command{
		name:  "route",
		usage: "--artifact DIR [--lambda L | --threshold T] PROMPT...",
		short: "route prompts with an artifact and show the scores",
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			dir := fs.String("artifact", "", "artifact `directory`")
			lambda := fs.Float64("lambda", -1, "utility policy: price of quality per USD (overrides the artifact's policy)")
			threshold := fs.Float64("threshold", -1, "threshold policy: route to the strong model when its win score (1 + P(strong) - P(weak)) / 2 is at or above this")
			asJSON := fs.Bool("json", false, "print JSON")
			var of onnxFlags
			of.register(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if *dir == "" {
					return usagef("--artifact is required")
				}
				if len(args) == 0 {
					return usagef("no prompt given")
				}
				onnx, err := of.config()
				if err != nil {
					return err
				}
				l, err := artifact.Load(ctx, *dir, onnx)
				if err != nil {
					return err
				}
				defer l.Close()
				var req models.Request
				switch {
				case *lambda >= 0:
					req.Policy = &models.Policy{Kind: models.PolicyUtility, Lambda: *lambda}
				case *threshold >= 0:
					p := l.Router.Policy
					if p.Kind != models.PolicyThreshold {
						return usagef("--threshold: %s routes by utility over %d models; give --lambda (a threshold needs a two-model threshold policy: calibrate --strong-share)", *dir, len(l.Router.Scorer.Models()))
					}
					p.Threshold = *threshold
					req.Policy = &p
				}
				var out []map[string]any
				for _, prompt := range args {
					d, err := l.Route(ctx, prompt, req)
					if err != nil {
						return err
					}
					if *asJSON {
						rec := map[string]any{"prompt": prompt, "model": d.Model, "scores": d.Scores}
						if d.Difficulty != nil {
							rec["difficulty"] = *d.Difficulty
						}
						out = append(out, rec)
						continue
					}
					fmt.Fprintf(e.stdout, "%q\n  -> %s", prompt, d.Model)
					if d.Difficulty != nil {
						fmt.Fprintf(e.stdout, " (difficulty %.2f)", *d.Difficulty)
					}
					names := make([]string, 0, len(d.Scores))
					for m := range d.Scores {
						names = append(names, m)
					}
					sort.Slice(names, func(i, j int) bool { return d.Scores[names[i]] > d.Scores[names[j]] })
					top := make([]string, 0, 5)
					for _, m := range names[:min(5, len(names))] {
						top = append(top, fmt.Sprintf("%s %.2f", m, d.Scores[m]))
					}
					fmt.Fprintf(e.stdout, "\n  top scores: %s\n", strings.Join(top, ", "))
				}
				if *asJSON {
					return writeJSON(e.stdout, out)
				}
				return nil
			}
		},
	}
}
