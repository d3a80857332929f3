// Command danmu is the live-comment server: one binary for every role.
//
//	danmu serve    all in one process: WebSocket edge, HTTP ingest, stream
//	danmu edge     the WebSocket edge of a fleet sharing Redis Streams
//	danmu ingest   the HTTP API of a fleet sharing Redis Streams
//	danmu token    mint a bearer token
//	danmu version  the version, commit and Go version of this binary
//	danmu help     this text
//
// Every flag can also be set with an environment variable: --ws-addr is
// DANMU_WS_ADDR. A flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `danmu is a live-comment (bullet chat) server.

Usage:
  danmu <command> [flags]

Commands:
  serve   run everything in one process: the WebSocket edge, the HTTP ingest
          API and the stream (embedded in-process, or Redis with --redis)
  edge    run a WebSocket edge of a fleet: viewers connect here; it follows
          the rooms of its viewers in Redis Streams (--redis is required)
  ingest  run an HTTP API node of a fleet: it appends comments to Redis
          Streams (--redis is required)
  token   mint a bearer token with --jwt-secret: danmu token --sub u1
          --name Alice --ttl 1h [--role admin]
  version print the version, the commit and the Go version of this binary
          (also danmu --version)
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
		err = runCommand("serve", roles{edge: true, ingest: true}, args[1:], stdout, stderr)
	case "edge":
		err = runCommand("edge", roles{edge: true}, args[1:], stdout, stderr)
	case "ingest":
		err = runCommand("ingest", roles{ingest: true}, args[1:], stdout, stderr)
	case "token":
		err = runToken(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		printVersion(stdout)
		return 0
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
	case errors.As(err, new(reportedError)):
		return 1
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "danmu:", err)
		return 2
	case err != nil:
		fmt.Fprintln(stderr, "danmu:", err)
		return 1
	}
	return 0
}

// runCommand parses the flags of the parts r names and runs them until
// SIGINT or SIGTERM.
func runCommand(name string, r roles, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := commandFlags(name, r, &o)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	productionDefaults(fs, &o)
	if o.printConfig {
		printConfig(stdout, fs)
		return nil
	}
	if name != "serve" && len(o.redis.Addrs) == 0 {
		return usageError{fmt.Errorf("%s needs --redis: a fleet shares its rooms through Redis Streams", name)}
	}
	if o.viewerTokens && !o.tokenKeys() {
		return usageError{errors.New("--viewer-tokens needs --jwt-secret (DANMU_JWT_SECRET), --jwt-public-key or --jwks-url to check the tokens with")}
	}
	if len(o.ingest.TrustedProxies) > 0 && o.ingest.ClientIPHeader == "" {
		return usageError{errors.New("--trusted-proxies needs --client-ip-header, the header those proxies set")}
	}
	o.profile.apply()
	logger, err := newLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = runNode(ctx, o, r, stdout, logger)
	if err != nil && o.logFormat == "json" {
		// Everything the process prints is JSON then, its last words too.
		logger.Error("danmu stopped", "err", err)
		return reportedError{err}
	}
	return err
}

// reportedError is an error the logger already reported: run exits 1
// without printing it again.
type reportedError struct{ error }

// commandFlags returns the flags of command name, which runs the parts r
// names, set into o.
func commandFlags(name string, r roles, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	streamFlags(fs, o)
	if r.edge {
		edgeFlags(fs, o)
	}
	if r.edge || r.ingest {
		authFlags(fs, o)
		keyFlags(fs, o)
		publicFlags(fs, o)
	}
	if r.ingest {
		ingestFlags(fs, o)
		policyFlags(fs, o)
		webhookFlags(fs, o)
	}
	opsFlags(fs, o)
	logFlags(fs, o)
	return fs
}

// usageError is a mistake on the command line.
type usageError struct{ error }
