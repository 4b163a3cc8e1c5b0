// Command vantage is the Vantage port scanner: `vantage scan HOST` runs a TCP
// connect scan from the command line with the same engine the web service
// uses.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errSilentExit) {
			fmt.Fprintf(os.Stderr, "vantage: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errSilentExit ends the program with status 2 after usage text was printed.
var errSilentExit = errors.New("usage")

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) || errors.Is(err, errSilentExit) {
		return 2
	}
	return 1
}

const usage = `Usage:
  vantage scan [flags] HOST   TCP connect scan of one host (vantage scan -h for flags)
  vantage [serve] [flags]     the web service, the default (vantage serve -h for flags)
  vantage version             print the version

`

// run is the whole program behind main, with its dependencies passed in so
// tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return runServe(ctx, nil, getenv, stdout, stderr) // serving is the default
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "scan":
		return runScan(ctx, rest, getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "vantage %s\n", version)
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}
