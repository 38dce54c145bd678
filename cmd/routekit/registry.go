package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/routekit/routekit/models/artifact"
)

func registryCommand() *command {
	return &command{
		name:  "registry",
		short: "manage a registry of versioned router artifacts",
		long: `A registry is a folder ROOT/NAME/vK/ of artifacts with a CURRENT pointer per
router name. 'routekit train --registry ROOT --name N' adds versions.`,
		subs: []*command{registryListCommand(), registryAddCommand(), registryPromoteCommand(), registryRollbackCommand(), registryGCCommand()},
	}
}

// registryFlags are the flags every registry command takes.
type registryFlags struct {
	root, name string
}

func (f *registryFlags) register(fs *flag.FlagSet, nameDoc string) {
	fs.StringVar(&f.root, "registry", "", "registry root `directory`")
	fs.StringVar(&f.name, "name", "", nameDoc)
}

// open checks the flags and opens the registry.
func (f *registryFlags) open(args []string, needName bool) (*artifact.Registry, error) {
	if len(args) > 0 {
		return nil, usagef("unexpected arguments %q", args)
	}
	if f.root == "" {
		return nil, usagef("--registry is required")
	}
	if needName && f.name == "" {
		return nil, usagef("--name is required")
	}
	if f.name != "" {
		if err := artifact.CheckName(f.name); err != nil {
			return nil, usagef("--name: %v", err)
		}
	}
	return artifact.OpenRegistry(f.root)
}

// names returns --name, or every router name in the registry.
func (f *registryFlags) names(r *artifact.Registry) ([]string, error) {
	if f.name != "" {
		return []string{f.name}, nil
	}
	return r.Names()
}

// listedVersion is one version in 'registry list --json'.
type listedVersion struct {
	ID             string             `json:"id"`
	Dir            string             `json:"dir"`
	Router         string             `json:"router,omitempty"`
	Created        time.Time          `json:"created"`
	Current        bool               `json:"current"`
	RollbackTarget bool               `json:"rollback_target,omitempty"`
	Validation     map[string]float64 `json:"validation,omitempty"`
	Error          string             `json:"error,omitempty"`
}

// listedRouter is one router name in 'registry list --json'.
type listedRouter struct {
	Name           string           `json:"name"`
	Current        string           `json:"current,omitempty"`
	RollbackTarget string           `json:"rollback_target,omitempty"`
	Versions       []listedVersion  `json:"versions"`
	History        []artifact.Event `json:"history"`
}

func registryListCommand() *command {
	return &command{
		name:  "list",
		usage: "--registry ROOT [--name N] [--json]",
		short: "list the versions of every router (or one)",
		long: `Prints a row per version: name, version, router kind, creation time, whether it is
CURRENT ("yes") or the version a rollback would return to ("rollback"), and its
validation metrics. A version whose manifest does not read is listed with the
reason. Only the manifests are read; --verify also checks every blob's size and
SHA-256, as promote does. --json adds each router's HISTORY (adds, promotions,
rollbacks, removals).`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf registryFlags
			rf.register(fs, "router `name` (default: all)")
			asJSON := fs.Bool("json", false, "print JSON")
			verify := fs.Bool("verify", false, "also verify every version's blobs (reads them all)")
			return func(ctx context.Context, e *env, args []string) error {
				r, err := rf.open(args, false)
				if err != nil {
					return err
				}
				names, err := rf.names(r)
				if err != nil {
					return err
				}
				routers := []listedRouter{}
				for _, name := range names {
					lr, err := listRouter(ctx, r, name, *verify)
					if err != nil {
						return err
					}
					routers = append(routers, lr)
				}
				if *asJSON {
					return writeJSON(e.stdout, map[string]any{"registry": r.Root(), "routers": routers})
				}
				if len(routers) == 0 {
					fmt.Fprintf(e.stdout, "no routers in %s\n", r.Root())
					return nil
				}
				return printRegistryTable(e.stdout, routers)
			}
		},
	}
}

func listRouter(ctx context.Context, r *artifact.Registry, name string, verify bool) (listedRouter, error) {
	vs, err := r.Versions(name)
	if err != nil {
		return listedRouter{}, err
	}
	back, err := r.RollbackTarget(name)
	if err != nil {
		return listedRouter{}, err
	}
	hist, err := r.History(name)
	if err != nil {
		return listedRouter{}, err
	}
	lr := listedRouter{Name: name, RollbackTarget: back, History: hist}
	if lr.History == nil {
		lr.History = []artifact.Event{}
	}
	for _, v := range vs {
		lv := listedVersion{ID: v.ID, Dir: v.Dir, Router: v.Router, Created: v.Created, Current: v.Current, RollbackTarget: v.ID == back}
		if v.Manifest != nil {
			lv.Validation = v.Manifest.Validation
		}
		if v.Err == nil && verify {
			if err := ctx.Err(); err != nil {
				return listedRouter{}, err
			}
			_, _, v.Err = artifact.Read(v.Dir)
		}
		if v.Err != nil {
			lv.Error = v.Err.Error()
		}
		if v.Current {
			lr.Current = v.ID
		}
		lr.Versions = append(lr.Versions, lv)
	}
	return lr, nil
}

func printRegistryTable(w io.Writer, routers []listedRouter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tROUTER\tCREATED\tCURRENT\tVALIDATION")
	for _, lr := range routers {
		for _, v := range lr.Versions {
			cur := ""
			switch {
			case v.Current:
				cur = "yes"
			case v.RollbackTarget:
				cur = "rollback"
			}
			created, router, val := "-", v.Router, validationSummary(v.Validation)
			if !v.Created.IsZero() {
				created = v.Created.UTC().Format(time.RFC3339)
			}
			if v.Error != "" {
				router, val = "?", "error: "+v.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", lr.Name, v.ID, router, created, cur, val)
		}
	}
	return tw.Flush()
}

// validationSummary formats the validation metrics, sorted by name, the
// counts of validation records last.
func validationSummary(m map[string]float64) string {
	var keys []string
	for k := range m {
		if k != "points" && k != "pairs" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.4g", k, m[k]))
	}
	for _, k := range []string{"points", "pairs"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.0f", k, v))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func registryAddCommand() *command {
	return &command{
		name:  "add",
		usage: "--registry ROOT --name N --artifact DIR [--promote]",
		short: "add a standalone artifact as the next version of a router",
		long: `Reads the artifact in full (format version, every blob's size and SHA-256),
refusing it when that fails, and writes a copy as the next version of N; the
first version of a name becomes CURRENT, later ones only with --promote. The
artifact directory itself is left as it is. Use it for artifacts made by
'routekit calibrate' or 'routekit irt add-model'.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf registryFlags
			rf.register(fs, "router `name`")
			dir := fs.String("artifact", "", "artifact `directory` to add")
			promote := fs.Bool("promote", false, "make the new version CURRENT")
			return func(ctx context.Context, e *env, args []string) error {
				r, err := rf.open(args, true)
				if err != nil {
					return err
				}
				if *dir == "" {
					return usagef("--artifact is required")
				}
				m, blobs, err := artifact.Read(*dir)
				if err != nil {
					return err
				}
				wrote, err := addToRegistry(r, rf.name, *promote, *m, blobs)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "wrote %s\n", wrote)
				return nil
			}
		},
	}
}

func registryPromoteCommand() *command {
	return &command{
		name:  "promote",
		usage: "--registry ROOT --name N --version vK",
		short: "make a version CURRENT, after verifying it",
		long: `Reads the version in full (format version, every blob's size and SHA-256) and
refuses it, leaving CURRENT unchanged, when that fails. CURRENT is replaced
atomically and the promotion recorded in HISTORY for rollback.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf registryFlags
			rf.register(fs, "router `name`")
			id := fs.String("version", "", "version `id` to promote, like v3")
			return func(ctx context.Context, e *env, args []string) error {
				r, err := rf.open(args, true)
				if err != nil {
					return err
				}
				if *id == "" {
					return usagef("--version is required")
				}
				prev := ""
				if c, err := r.Current(rf.name); err == nil {
					prev = c.ID
				}
				if err := r.Promote(rf.name, *id); err != nil {
					return err
				}
				if prev == *id {
					fmt.Fprintf(e.stdout, "%s %s is already CURRENT\n", rf.name, *id)
					return nil
				}
				fmt.Fprintf(e.stdout, "promoted %s %s (was %s)\n", rf.name, *id, orNone(prev))
				return nil
			}
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func registryRollbackCommand() *command {
	return &command{
		name:  "rollback",
		usage: "--registry ROOT --name N",
		short: "make the previously promoted version CURRENT again",
		long: `Goes back to the version promoted before the current one that is still present
(HISTORY is a stack: promoting v1, v2, v3 and rolling back twice gives v2, then
v1). The target is verified like promote; nothing changes when it fails.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf registryFlags
			rf.register(fs, "router `name`")
			return func(ctx context.Context, e *env, args []string) error {
				r, err := rf.open(args, true)
				if err != nil {
					return err
				}
				prev, err := r.Current(rf.name)
				if err != nil {
					return err
				}
				v, err := r.Rollback(rf.name)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "rolled %s back to %s (was %s)\n", rf.name, v.ID, prev.ID)
				return nil
			}
		},
	}
}

func registryGCCommand() *command {
	return &command{
		name:  "gc",
		usage: "--registry ROOT [--name N] [--keep 5] [--dry-run]",
		short: "remove old versions",
		long: `Removes every version but the newest --keep, CURRENT and the rollback target,
and temporary folders (*.tmp-*, debris of crashed writes) older than an hour.
Without --name, every router of the registry.`,
		setup: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var rf registryFlags
			rf.register(fs, "router `name` (default: all)")
			keep := fs.Int("keep", 5, "newest versions to keep besides CURRENT and the rollback target")
			dry := fs.Bool("dry-run", false, "print what would be removed, remove nothing")
			return func(ctx context.Context, e *env, args []string) error {
				r, err := rf.open(args, false)
				if err != nil {
					return err
				}
				if *keep < 0 {
					return usagef("--keep %d: want 0 or more", *keep)
				}
				names, err := rf.names(r)
				if err != nil {
					return err
				}
				verb, n := "removed", 0
				if *dry {
					verb = "would remove"
				}
				for _, name := range names {
					if err := ctx.Err(); err != nil {
						return err
					}
					var gone []string
					if *dry {
						gone, err = r.GCPlan(name, *keep)
					} else {
						gone, err = r.GC(name, *keep)
					}
					for _, g := range gone {
						fmt.Fprintf(e.stdout, "%s %s/%s\n", verb, name, g)
					}
					n += len(gone)
					if err != nil {
						return err
					}
				}
				if n == 0 {
					fmt.Fprintln(e.stdout, "nothing to remove")
				}
				return nil
			}
		},
	}
}

// addToRegistry adds a trained artifact as the next version of name,
// promotes it when asked, and describes the result for 'train'.
func addToRegistry(r *artifact.Registry, name string, promote bool, m artifact.Manifest, blobs map[string][]byte) (string, error) {
	v, err := r.Add(name, m, blobs)
	if err != nil {
		return "", err
	}
	if promote && !v.Current {
		if err := r.Promote(name, v.ID); err != nil {
			return "", fmt.Errorf("added %s %s at %s but: %w", name, v.ID, v.Dir, err)
		}
		v.Current = true
	}
	if v.Current {
		return fmt.Sprintf("%s %s to %s; it is CURRENT", name, v.ID, v.Dir), nil
	}
	cur := "none"
	if c, err := r.Current(name); err == nil {
		cur = c.ID
	}
	return fmt.Sprintf("%s %s to %s; not CURRENT (CURRENT is %s; promote with: routekit registry promote --registry %s --name %s --version %s)",
		name, v.ID, v.Dir, cur, r.Root(), name, v.ID), nil
}
