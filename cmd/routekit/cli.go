package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/routekit/routekit/data"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // bad command line
	exitData  = 3 // bad input data (a file:line: field: problem error)
)

// env is what a command runs with.
type env struct {
	stdout, stderr io.Writer
	log            *slog.Logger
}

// command is one node of the command tree: a group with subcommands or a
// leaf with flags and a run function.
type command struct {
	name  string
	usage string // arguments after the name, for the usage line
	short string // one line of help
	long  string // more help, optional
	// setup registers the flags and returns the function that runs the
	// command with the positional arguments left after the flags.
	setup func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
	subs  []*command
}

// usageError is a bad command line.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func commands() *command {
	return &command{
		name:  "routekit",
		short: "train, evaluate and serve learned LLM routers",
		subs: []*command{
			dataCommand(),
			embedCommand(),
			trainCommand(),
			routeCommand(),
			evalCommand(),
			serveCommand(),
			calibrateCommand(),
			irtCommand(),
			devCommand(),
			loadgenCommand(),
			registryCommand(),
		},
	}
}

// logFlags are the logging flags every command takes.
type logFlags struct {
	format string
	level  string
}

// register adds the flags; values already set (by the global flags
// before the command name) are the defaults.
func (l *logFlags) register(fs *flag.FlagSet) {
	if l.format == "" {
		l.format = "text"
	}
	if l.level == "" {
		l.level = "info"
	}
	fs.StringVar(&l.format, "log-format", l.format, "log format: text or json")
	fs.StringVar(&l.level, "log-level", l.level, "log level: debug, info, warn or error")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", l.format)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := commands()
	path := []string{root.name}
	cmd := root
	// Global logging flags may come before the command name.
	var lf logFlags
	gfs := flag.NewFlagSet(root.name, flag.ContinueOnError)
	gfs.SetOutput(io.Discard)
	lf.register(gfs)
	if err := gfs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printGroupHelp(stdout, path, root)
			return exitOK
		}
		fmt.Fprintf(stderr, "routekit: %v\n", err)
		return exitUsage
	}
	args = gfs.Args()
	for len(cmd.subs) > 0 {
		if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			if len(args) > 1 && args[0] == "help" {
				// "routekit help data import" is "routekit data import --help".
				args = append(args[1:], "--help")
				continue
			}
			printGroupHelp(stdout, path, cmd)
			if len(args) == 0 {
				return exitUsage
			}
			return exitOK
		}
		var next *command
		for _, s := range cmd.subs {
			if s.name == args[0] {
				next = s
			}
		}
		if next == nil {
			fmt.Fprintf(stderr, "%s: unknown command %q\n", strings.Join(path, " "), args[0])
			printGroupHelp(stderr, path, cmd)
			return exitUsage
		}
		cmd = next
		path = append(path, cmd.name)
		args = args[1:]
	}
	name := strings.Join(path, " ")
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	runFn := cmd.setup(fs)
	lf.register(fs)
	fs.Usage = func() {} // help is printed below, to stdout when asked for
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printLeafHelp(stdout, name, cmd, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
		return exitUsage
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr, log: log}
	if err := runFn(ctx, e, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		var ue *usageError
		var pe *data.ParseError
		switch {
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", name)
			return exitUsage
		case errors.As(err, &pe):
			return exitData
		}
		return exitError
	}
	return exitOK
}

// interleave moves flags after positional arguments to the front, so
// "data stats FILE --json" works like "data stats --json FILE".
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

func printGroupHelp(w io.Writer, path []string, cmd *command) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "), cmd.short, strings.Join(path, " "))
	for _, s := range cmd.subs {
		fmt.Fprintf(w, "  %-10s %s\n", s.name, s.short)
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", strings.Join(path, " "))
	if len(path) == 1 {
		fmt.Fprintf(w, "\nEnvironment:\n")
		for _, v := range envVars {
			fmt.Fprintf(w, "  %-22s %s\n", v.name, v.doc)
		}
	}
}

func printLeafHelp(w io.Writer, name string, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s %s\n", name, cmd.short, name, cmd.usage)
	if cmd.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(cmd.long))
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// listFlag is a repeatable flag that also splits on commas when asked.
type listFlag struct {
	values []string
	comma  bool
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(s string) error {
	if l.comma {
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				l.values = append(l.values, v)
			}
		}
		return nil
	}
	l.values = append(l.values, s)
	return nil
}
