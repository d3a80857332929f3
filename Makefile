# Plain `make` lists the targets. Recipes are POSIX sh.

GO ?= go
PKGS ?= ./...
TEST_TIMEOUT ?= 20m
# RUN_ARGS passes extra flags to `danmu serve` in `make run`.
RUN_ARGS ?=
# BENCH selects benchmarks by regexp; BENCHTIME and BENCHCOUNT are passed to
# -benchtime and -count (use BENCHCOUNT=10 to feed benchstat).
BENCH ?= .
BENCHTIME ?= 1s
BENCHCOUNT ?= 1
# FUZZTIME is how long each fuzz target runs in `make fuzz`, FUZZTIME_SHORT
# in `make fuzz-short`, which `make test` runs: 2 s, so that 25 targets take
# under 2 minutes with the build and start-up of each (115 s on 2 busy cores).
FUZZTIME ?= 30s
FUZZTIME_SHORT ?= 2s
# CHROMIUM is the browser the web end-to-end test drives (Debian's package).
CHROMIUM ?= /usr/bin/chromium

# WEB_TEST runs the browser side's tests: the JavaScript client under Node's
# test runner, then the demo page end to end in headless Chromium. Both
# build bin/danmu and run it on free ports; web/e2e/out/ keeps screenshots.
WEB_TEST = node --test web/test/ && CHROMIUM=$(CHROMIUM) node --test web/e2e/
# SCENARIO, TARGET and LOAD_ARGS drive `make bench-load`: one scenario of
# perf/cmd/loadgen against a spawned bin/danmu or bin/baseline; LOAD_ARGS
# adds loadgen flags, e.g. LOAD_ARGS='--viewers 10000 --rate 1000'.
SCENARIO ?= hot-room
TARGET ?= danmu
LOAD_ARGS ?=
# SCHEDTRACE=1 makes `make profile` run the server with GODEBUG=schedtrace=1000.
SCHEDTRACE ?= 0

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@echo 'usage: make <target> [VAR=value ...]'
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/danmu.
	$(GO) build -o bin/danmu ./cmd/danmu

.PHONY: run
run: build ## Run bin/danmu serve in the foreground (embedded stream, 127.0.0.1; RUN_ARGS adds flags).
	exec bin/danmu serve $(RUN_ARGS)

.PHONY: baseline
baseline: ## Build bin/baseline, the reference gorilla/websocket server of perf/baseline.
	$(GO) build -o bin/baseline ./perf/cmd/baseline

.PHONY: bench-load
bench-load: build baseline ## Run one load scenario (SCENARIO, TARGET=danmu|baseline, LOAD_ARGS); results in perf/out/.
	$(GO) build -o bin/loadgen ./perf/cmd/loadgen
	bin/loadgen $(SCENARIO) --target $(TARGET) --spawn --json-out perf/out/runs.jsonl $(LOAD_ARGS)

.PHONY: test-deps
test-deps: ## Make sure the tests' outside dependencies (Redis on 127.0.0.1:6379, web/'s npm packages, the npm clients of Bilibili's protocol in cmd/danmu/testdata/bili-client, Chromium) are there.
	scripts/ensure-redis.sh
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd cmd/danmu/testdata/bili-client && npm ci --no-audit --no-fund --loglevel=error
	[ -x "$(CHROMIUM)" ] || { apt-get update && apt-get install -y chromium; }

.PHONY: test
test: test-deps ## Vet, then run every Go test with the race detector, uncached, then a short fuzz pass, a 60 s soak and the web tests.
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)
	$(MAKE) --no-print-directory fuzz-short
	$(MAKE) --no-print-directory soak-short
	$(WEB_TEST)

.PHONY: test-web
test-web: test-deps ## Run the JavaScript client's tests (Node) and the demo page's end-to-end test (headless Chromium).
	$(WEB_TEST)

.PHONY: race
race: test-deps ## Run every test with the race detector (cached results allowed).
	$(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

.PHONY: integration
integration: test-deps ## Run only the tests named *Integration*, with the race detector.
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) -run Integration $(PKGS)

.PHONY: bench
bench: test-deps ## Run benchmarks (BENCH, BENCHTIME, BENCHCOUNT).
	$(GO) test -run='^$$' -bench='$(BENCH)' -benchmem -benchtime=$(BENCHTIME) -count=$(BENCHCOUNT) -timeout 1h $(PKGS)

.PHONY: fuzz
fuzz: test-deps ## Run each fuzz target for FUZZTIME (default 30s; scripts/fuzz.sh).
	FUZZTIME='$(FUZZTIME)' GO='$(GO)' scripts/fuzz.sh $(PKGS)

.PHONY: fuzz-short
fuzz-short: ## Run each fuzz target for FUZZTIME_SHORT (default 2s, under 2 min in all; make test runs it).
	FUZZTIME='$(FUZZTIME_SHORT)' GO='$(GO)' scripts/fuzz.sh $(PKGS)

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
