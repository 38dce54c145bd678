package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/routekit/routekit/data"
)

func dataMTBenchCommand() *command {
	return &command{
		name:  "mtbench",
		usage: "--dir DIR [--exclude contaminated_prompts.jsonl] --out FILE",
		short: "turn RouteLLM's MT-Bench judgements into outcomes (turn 1 prompts, grades rescaled)",
		long: `Reads DIR/question.jsonl and DIR/judgements.jsonl. The prompt is a question's
first turn (RouteLLM routes on turn 1); a model's score is the mean over the
judged turns of (grade - 1) / 9. --exclude drops contaminated prompts.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			dir := fs.String("dir", "", "MT-Bench `directory` (question.jsonl, judgements.jsonl)")
			exclude := fs.String("exclude", "", "`file` of prompts to drop")
			out := fs.String("out", "", "output `file` (.parquet, .jsonl or .csv)")
			return func(ctx context.Context, e *env, args []string) error {
				if *dir == "" || *out == "" {
					return usagef("--dir and --out are required")
				}
				var set *data.PromptSet
				if *exclude != "" {
					var err error
					if set, err = data.LoadPromptSet(*exclude); err != nil {
						return err
					}
				}
				outs, excluded, err := data.ReadMTBench(ctx, filepath.Join(*dir, "question.jsonl"), filepath.Join(*dir, "judgements.jsonl"), set)
				if err != nil {
					return err
				}
				if err := writeAll(*out, "", data.KindOutcome, len(outs), func(w *data.Writer, i int) error { return w.WriteOutcome(&outs[i]) }); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote %d outcomes to %s (%d contaminated prompts dropped)\n", len(outs), *out, excluded)
				return nil
			}
		},
	}
}
