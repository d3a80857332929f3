#!/usr/bin/env bash
# fuzz.sh runs every fuzz target (func Fuzz...) of the given packages of the
# server's module and of the PERF_PKGS of perf/, its nested module, one after
# the other, each for FUZZTIME, and stops at the first failure with status
# 1. It finds the targets with `go test -list`, so a new target runs without
# being named anywhere. `make fuzz` runs it for 30 s per target,
# `make fuzz-short` (part of `make test`) for 2 s.
#
# A failing target writes its input to <package>/testdata/fuzz/<target>/,
# where `go test` replays it from then on. Commit that file together with
# the fix, as a regression test, never on its own: on a failure this script
# lists the inputs git does not track yet.
#
# A target that fails without writing an input runs again, up to three
# times, and fails the pass only if every run fails: Go 1.26's fuzz
# coordinator can report its own -fuzztime deadline as a failure ("context
# deadline exceeded", go.dev/issue/75804, fixed in Go 1.27), on a loaded
# machine twice in a row, while an input that fails does so every time and
# is written to testdata/fuzz.
#
# Usage: scripts/fuzz.sh [package ...]   (default ./...)
# Environment (defaults in parentheses):
#   FUZZTIME   how long each target runs, as go test -fuzztime takes it (2s)
#   PERF_PKGS  packages of the perf module, relative to perf/; empty: none (./...)
#   GO         the go command (go)
set -euo pipefail

fuzztime=${FUZZTIME:-2s}
go=${GO:-go}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
(($#)) || set -- ./...
read -ra perf_pkgs <<<"${PERF_PKGS-./...}"

# list_targets dir package... prints "dir package target" for each fuzz
# target of the packages of the module in dir. go test -list prints the
# names that match in each package, then a line "ok <package> <time>";
# -fuzz takes one target of one package at a time.
list_targets() {
	local dir=$1
	shift
	(($#)) || return 0
	"$go" -C "$dir" test -list '^Fuzz' "$@" |
		awk -v dir="$dir" '/^Fuzz/ { names[n++] = $1; next } /^ok/ { for (i = 0; i < n; i++) print dir, $2, names[i]; n = 0 }'
}

targets=$(list_targets . "$@")
targets+=$'\n'$(list_targets perf "${perf_pkgs[@]}")
count=$(grep -c . <<<"$targets" || true)
echo "fuzz: $count targets, $fuzztime each"

# untracked_inputs prints the fuzz inputs git does not track.
untracked_inputs() {
	git ls-files --others --exclude-standard 2>/dev/null | grep '/testdata/fuzz/' || true
}

# fuzz_one dir pkg target runs target of pkg, in the module in dir, for fuzztime.
fuzz_one() {
	"$go" -C "$1" test -run '^$' -fuzz "^$3\$" -fuzztime "$fuzztime" "$2" </dev/null
}

start=$SECONDS
while read -r dir pkg target; do
	[[ -n $pkg ]] || continue
	echo "fuzz: $target ($pkg)"
	before=$(untracked_inputs)
	fuzz_one "$dir" "$pkg" "$target" && continue
	passed=false
	for again in 1 2 3; do
		[[ $(untracked_inputs) == "$before" ]] || break
		echo "fuzz: $target failed without writing an input; again ($again of 3, go.dev/issue/75804)" >&2
		if fuzz_one "$dir" "$pkg" "$target"; then
			passed=true
			break
		fi
	done
	$passed && continue
	echo "fuzz: $target of $pkg failed. Inputs under testdata/fuzz git does not track (commit them with the fix only):" >&2
	untracked_inputs >&2
	exit 1
done <<<"$targets"
echo "fuzz: $count targets passed in $((SECONDS - start)) s"
