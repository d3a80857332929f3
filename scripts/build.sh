#!/bin/sh
# build.sh OUT [GOOS GOARCH] builds a static danmu binary at OUT, stamped
# with VERSION and COMMIT (from git when unset): the one recipe behind
# make dist and deploy/Dockerfile.
set -eu
out=$1
goos=${2:-$(go env GOOS)}
goarch=${3:-$(go env GOARCH)}
: "${VERSION:=$(git describe --tags --always --dirty 2>/dev/null || echo devel)}"
: "${COMMIT:=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}"
CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" \
	-o "$out" ./cmd/danmu
