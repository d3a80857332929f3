// Command danmu is the live-comment server: one binary for every role.
//
//	danmu serve    all in one process: WebSocket edge, HTTP ingest, embedded stream
//	danmu help     this text
//
// Every flag can also be set with an environment variable: --ws-addr is
// DANMU_WS_ADDR. A flag given on the command line wins.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `danmu is a live-comment (bullet chat) server.

Usage:
  danmu <command> [flags]

Commands:
  serve   run everything in one process: the WebSocket edge, the HTTP ingest
          API and the embedded in-process stream
  help    show this help; "danmu <command> --help" shows a command's flags

Every flag can also be set with an environment variable named DANMU_ and the
flag's name in upper case with dashes as underscores (--ws-addr is
DANMU_WS_ADDR). A flag given on the command line wins over the environment.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "danmu: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "danmu:", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "danmu:", err)
		return 1
	}
	return 0
}

// usageError is a mistake on the command line.
type usageError struct{ error }
