package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped at build time (make build, make dist):
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123abc" ./cmd/danmu
//
// A plain go build leaves them empty, and buildInfo falls back to what the
// Go toolchain recorded in the binary.
var (
	version string
	commit  string
)

// build describes the running binary.
type build struct {
	Version string // a release tag, or "devel"
	Commit  string // the git commit, "-dirty" when built from a modified tree, or "unknown"
	Go      string // the Go version that built it
}

// buildInfo returns what the linker stamped, completed from the module and
// VCS information the Go toolchain records (go build in a git checkout
// records the commit; go install of a tagged module records its version).
func buildInfo() build {
	b := build{Version: version, Commit: commit, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Commit == "" {
			var revision, modified string
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					revision = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if len(revision) > 12 {
				revision = revision[:12]
			}
			if revision != "" && modified == "true" {
				revision += "-dirty"
			}
			b.Commit = revision
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// printVersion writes the version line of danmu version and --version.
func printVersion(w io.Writer) {
	b := buildInfo()
	fmt.Fprintf(w, "danmu %s (commit %s, %s, %s/%s)\n", b.Version, b.Commit, b.Go, runtime.GOOS, runtime.GOARCH)
}
