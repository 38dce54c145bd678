// Command routekit trains, evaluates and serves learned LLM routers.
//
// Run "routekit help" for the commands.
//
// The command line is built on the standard flag package with a small
// command tree of its own (cli.go) rather than cobra: every command is a
// flag.FlagSet plus a run function, so help, usage errors (exit 2) and
// flag parsing behave the same everywhere, the binary has no CLI
// dependency tree to audit or update, and tests run commands in-process
// through run with their own stdout and stderr. What cobra would add
// (shell completion, generated docs, persistent flags) is not needed by
// a tool whose commands are scripted by make and CI.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
