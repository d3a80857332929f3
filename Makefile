# Plain `make` lists the targets. Recipes are POSIX sh.

GO ?= go
# PKGS selects the packages of the server's module for vet, test, race,
# integration, bench and fuzz. PERF_PKGS selects those of perf/, the module
# of the load generator, the soak test and the baseline (perf/go.mod keeps
# their dependencies out of the server's), which the same targets take
# next; an empty PERF_PKGS leaves perf out: make race PKGS=./edge/... PERF_PKGS=
PKGS ?= ./...
PERF_PKGS ?= ./...
TEST_TIMEOUT ?= 20m
# RUN_ARGS passes extra flags to `danmu serve` in `make run`.
RUN_ARGS ?=
# BENCH selects benchmarks by regexp; BENCHTIME and BENCHCOUNT are passed to
# -benchtime and -count (use BENCHCOUNT=10 to feed benchstat). The reconnect
# storm (10 000 viewers resuming after an edge restart, docs/performance.md)
# is one storm per iteration:
#   make bench BENCH=ReconnectStorm PKGS=./cmd/danmu BENCHTIME=1x
# DANMUTEST_STORM_VIEWERS=1000 in the environment makes it a quick one.
BENCH ?= .
BENCHTIME ?= 1s
BENCHCOUNT ?= 1
# FUZZTIME is how long each fuzz target runs in `make fuzz`, FUZZTIME_SHORT
# in `make fuzz-short`, which `make test` runs: 2 s each, so that all of them
# (38 today) take a few minutes with the build and start-up of each.
FUZZTIME ?= 30s
FUZZTIME_SHORT ?= 2s
# VERSION and COMMIT are stamped into the binaries of build and dist
# (danmu version); DIST_ARCHS are the architectures dist builds for Linux.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
DIST_ARCHS ?= amd64 arm64
# CHROMIUM is the browser the web end-to-end test drives (Debian's package).
CHROMIUM ?= /usr/bin/chromium

# WEB_TEST runs the browser side's tests: the JavaScript client under Node's
# test runner, its npm package (web/client: declarations, npm pack, the
# installed tarball), then the demo page end to end in headless Chromium.
# They build bin/danmu and run it on free ports; web/e2e/out/ keeps
# screenshots.
WEB_TEST = node --test web/test/ web/client/test/ && CHROMIUM=$(CHROMIUM) node --test web/e2e/
# SCENARIO, TARGET and LOAD_ARGS drive `make bench-load`: one scenario of
# perf/cmd/loadgen against a spawned bin/danmu or bin/baseline; LOAD_ARGS
# adds loadgen flags, e.g. LOAD_ARGS='--viewers 10000 --rate 1000', or
# SCENARIO=ingest LOAD_ARGS='--batch 100'; TARGET=floor is perf/floor's bare HTTP server.
SCENARIO ?= hot-room
TARGET ?= danmu
LOAD_ARGS ?=
# SCHEDTRACE=1 makes `make profile` run the server with GODEBUG=schedtrace=1000.
SCHEDTRACE ?= 0

# go_perf runs `go -C perf $(1) $(PERF_PKGS)`, and nothing when PERF_PKGS is empty.
go_perf = $(if $(PERF_PKGS),$(GO) -C perf $(1) $(PERF_PKGS))

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@echo 'usage: make <target> [VAR=value ...]'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/danmu, stamped with the version and commit from git.
	$(GO) build -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o bin/danmu ./cmd/danmu

.PHONY: dist
dist: ## Build static release binaries for linux/amd64 and linux/arm64 in dist/, with SHA256SUMS.
	rm -rf dist && mkdir -p dist
	for arch in $(DIST_ARCHS); do \
		VERSION=$(VERSION) COMMIT=$(COMMIT) scripts/build.sh dist/danmu-$(VERSION)-linux-$$arch linux $$arch || exit 1; \
	done
	cd dist && sha256sum danmu-* > SHA256SUMS

.PHONY: run
run: build ## Run bin/danmu serve in the foreground (embedded stream, 127.0.0.1; RUN_ARGS adds flags).
	exec bin/danmu serve $(RUN_ARGS)

.PHONY: baseline
baseline: ## Build bin/baseline, the reference gorilla/websocket server of perf/baseline.
	$(GO) -C perf build -o ../bin/baseline ./cmd/baseline

.PHONY: floor
floor: ## Build bin/floor, perf/floor's floors: the bare HTTP server that answers every POST with 201, and with --ws-addr the fan-out floor.
	$(GO) -C perf build -o ../bin/floor ./cmd/floor

.PHONY: bench-load
bench-load: build baseline floor ## Run one load scenario (SCENARIO, TARGET=danmu|baseline|floor, LOAD_ARGS); results in perf/out/.
	$(GO) -C perf build -o ../bin/loadgen ./cmd/loadgen
	bin/loadgen $(SCENARIO) --target $(TARGET) --spawn --json-out perf/out/runs.jsonl $(LOAD_ARGS)

.PHONY: test-deps
test-deps: ## Make sure the tests' outside dependencies (Redis on 127.0.0.1:6379, the npm packages of web/ and web/client/, the npm clients of Bilibili's protocol in cmd/danmu/testdata/bili-client, Chromium, HAProxy and openssl for the test behind a TLS-terminating balancer) are there.
	scripts/ensure-redis.sh
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd web/client && npm ci --no-audit --no-fund --loglevel=error
	cd cmd/danmu/testdata/bili-client && npm ci --no-audit --no-fund --loglevel=error
	[ -x "$(CHROMIUM)" ] || { apt-get update && apt-get install -y chromium; }
	command -v haproxy >/dev/null && command -v openssl >/dev/null || { apt-get update && apt-get install -y haproxy openssl; }

.PHONY: tidy-check
tidy-check: ## Fail when go mod tidy would change go.mod or go.sum, of the server's module or perf's (make test runs it first).
	$(GO) mod tidy -diff
	$(GO) -C perf mod tidy -diff

.PHONY: test
test: tidy-check test-deps ## Check go.mod is tidy, vet, then run every Go test (PKGS, then PERF_PKGS) with the race detector, uncached, then a short fuzz pass, a 60 s soak and the web tests.
	$(GO) vet $(PKGS)
	$(call go_perf,vet)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	$(call go_perf,test -race -count=1 -timeout $(TEST_TIMEOUT))
	$(MAKE) --no-print-directory fuzz-short
	$(MAKE) --no-print-directory soak-short
	$(WEB_TEST)

.PHONY: test-web
test-web: test-deps ## Run the JavaScript client's tests (Node) and the demo page's end-to-end test (headless Chromium).
	$(WEB_TEST)

.PHONY: race
race: test-deps ## Run every test with the race detector (cached results allowed).
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)
	$(call go_perf,test -race -timeout $(TEST_TIMEOUT))

.PHONY: integration
integration: test-deps ## Run only the tests named *Integration*, with the race detector.
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run Integration $(PKGS)
	$(call go_perf,test -race -count=1 -timeout $(TEST_TIMEOUT) -run Integration)

.PHONY: bench
bench: test-deps ## Run benchmarks (BENCH, BENCHTIME, BENCHCOUNT).
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT) -timeout 1h $(PKGS)
	$(call go_perf,test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT) -timeout 1h)

.PHONY: fuzz
fuzz: test-deps ## Run each fuzz target for FUZZTIME (default 30s; scripts/fuzz.sh).
	FUZZTIME='$(FUZZTIME)' GO='$(GO)' PERF_PKGS='$(PERF_PKGS)' scripts/fuzz.sh $(PKGS)

.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target for FUZZTIME_SHORT (default 2s, under 2 min in all; make test runs it).
	FUZZTIME='$(FUZZTIME_SHORT)' GO='$(GO)' PERF_PKGS='$(PERF_PKGS)' scripts/fuzz.sh $(PKGS)

.PHONY: profile
profile: ## Profile danmu serve under one load scenario (SCENARIO, LOAD_ARGS, SCHEDTRACE=1; scripts/profile.sh); output in perf/out/.
	SCENARIO='$(SCENARIO)' LOAD_ARGS='$(LOAD_ARGS)' SCHEDTRACE='$(SCHEDTRACE)' GO='$(GO)' scripts/profile.sh

.PHONY: soak
soak: ## Run the soak test (scripts/soak.sh; SOAK_DURATION, default 30m).
	scripts/soak.sh

.PHONY: soak-short
soak-short: ## Run a 60 s soak test (make test runs it).
	SOAK_DURATION=60s GO='$(GO)' scripts/soak.sh

.PHONY: clean
clean: ## Remove built binaries, test binaries and profiles.
	rm -rf bin perf/out web/e2e/out
	find . -name node_modules -prune -o \( -name '*.test' -o -name '*.prof' \) -type f -print -exec rm -f {} +
