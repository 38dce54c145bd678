package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/routekit/routekit/cmd/routekit/internal/progress"
	"github.com/routekit/routekit/data"
	"github.com/routekit/routekit/data/synth"
)

func dataSynthCommand() *command {
	return &command{
		name:  "synth",
		usage: "--out-dir DIR [--seed N] [--models N] [--prompts N] [--battles N]",
		short: "write a synthetic router world with known ground truth (the demo data)",
		long: `Writes DIR/outcomes, DIR/battles (Parquet by default), DIR/catalog.yaml and
DIR/truth.json: models with prices and latent abilities over skills, prompts
from task-family templates with latent difficulty, outcomes drawn from a
multidimensional IRT model and Arena-style battles drawn from the same truth.
The same flags give the same files.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			d := synth.DefaultConfig()
			cfg := d
			outDir := fs.String("out-dir", "", "output `directory`")
			fs.Uint64Var(&cfg.Seed, "seed", d.Seed, "random seed")
			fs.IntVar(&cfg.Models, "models", d.Models, "number of models")
			fs.IntVar(&cfg.Prompts, "prompts", d.Prompts, "number of prompts")
			fs.IntVar(&cfg.Skills, "skills", d.Skills, "latent skills (ability dimensions)")
			fs.Float64Var(&cfg.Coverage, "coverage", d.Coverage, "expected share of models answering each prompt")
			fs.IntVar(&cfg.Battles, "battles", d.Battles, "number of battles")
			outFormat := fs.String("out-format", "parquet", "format of outcomes and battles: parquet, jsonl or csv")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *outDir == "" {
					return usagef("--out-dir is required")
				}
				if err := cfg.Validate(); err != nil {
					return usagef("%v", err)
				}
				container, err := data.ParseContainer(*outFormat)
				if err != nil || container == data.JSON {
					return usagef("--out-format %q: want parquet, jsonl or csv", *outFormat)
				}
				noBattles := cfg.Battles == 0 // synth.Config reads 0 as the default
				w, err := synth.Generate(cfg)
				if err != nil {
					return err
				}
				if noBattles {
					w.Battles = nil
				}
				if err := os.MkdirAll(*outDir, 0o755); err != nil {
					return err
				}
				outcomes := filepath.Join(*outDir, "outcomes."+string(container))
				battles := filepath.Join(*outDir, "battles."+string(container))
				if err := writeAllBar(e, outcomes, container, data.KindOutcome, len(w.Outcomes), func(wr *data.Writer, i int) error {
					return wr.WriteOutcome(&w.Outcomes[i])
				}); err != nil {
					return err
				}
				if err := writeAllBar(e, battles, container, data.KindBattle, len(w.Battles), func(wr *data.Writer, i int) error {
					return wr.WriteBattle(&w.Battles[i])
				}); err != nil {
					return err
				}
				cat, err := w.Catalog()
				if err != nil {
					return err
				}
				catalog := filepath.Join(*outDir, "catalog.yaml")
				if err := data.WriteCatalog(catalog, cat); err != nil {
					return err
				}
				truth := filepath.Join(*outDir, "truth.json")
				if err := w.WriteTruth(truth); err != nil {
					return err
				}
				e.log.Info("synthesised", "dir", *outDir, "seed", cfg.Seed, "models", len(w.Models), "prompts", len(w.Prompts))
				fmt.Fprintf(e.stdout, "synthetic world (seed %d): %d models, %d prompts, %d skills\n", cfg.Seed, len(w.Models), len(w.Prompts), cfg.Skills)
				fmt.Fprintf(e.stdout, "  %s: %d outcomes\n  %s: %d battles\n  %s\n  %s\n", outcomes, len(w.Outcomes), battles, len(w.Battles), catalog, truth)
				return nil
			}
		},
	}
}

// writeAll writes n records to a new file.
func writeAll(path string, c data.Container, k data.Kind, n int, put func(*data.Writer, int) error) error {
	return writeRecords(path, c, k, n, put, nil)
}

// writeAllBar is writeAll with a progress bar of records written on a
// terminal.
func writeAllBar(e *env, path string, c data.Container, k data.Kind, n int, put func(*data.Writer, int) error) error {
	b := progress.New(e.stderr, filepath.Base(path), int64(n), "records")
	defer b.Done()
	return writeRecords(path, c, k, n, put, b)
}

// barEvery is how many records pass between two progress updates.
const barEvery = 1024

// writeRecords writes n records to a new file, updating b (when not nil)
// every barEvery records and at the end.
func writeRecords(path string, c data.Container, k data.Kind, n int, put func(*data.Writer, int) error, b bar) error {
	wr, err := data.Create(path, c, k)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if err := put(wr, i); err != nil {
			wr.Abort()
			return err
		}
		if b != nil && (i+1)%barEvery == 0 {
			b.Update(int64(i + 1))
		}
	}
	if b != nil {
		b.Update(int64(n))
	}
	return wr.Close()
}
