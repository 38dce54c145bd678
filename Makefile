# routekit — build/CI entry points.
#
#   make setup   fetch Go modules and the ONNX Runtime library (idempotent, cheap when done)
#   make build   build bin/routekit
#   make test    go vet, the whole test suite (incl. fuzz seed corpora), then -race on RACE_PKGS
#   make demo    build, then run scripts/demo.sh in .cache/demo
#   make loadtest  serving latency and throughput (scripts/loadtest.sh, .cache/loadtest)
#   make bench   benchmarks (BENCH=regexp, BENCHTIME=e.g. 2s or 100x, BENCH_PKGS=./...)
#   make lint    gofmt -l (must be empty), go vet, duplicates (informational)
#   make fuzz    fuzz targets for FUZZTIME each (FUZZ=regexp, FUZZ_PKGS=./...)
#   make clean   remove bin/ and .cache/demo (make distclean also drops .cache/)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := build
MAKEFLAGS += --no-builtin-rules

GO ?= go

# ONNX Runtime CPU shared library, extracted from the onnxruntime-node npm
# package by scripts/setup-ort.sh. Tests, demo and benchmarks get its path
# as ROUTEKIT_ORT_LIB.
ORT_VERSION ?= 1.30.0
ORT_DIR     ?= $(CURDIR)/.cache/ort
ORT_LIB     ?= $(ORT_DIR)/libonnxruntime.so.$(ORT_VERSION)

# Packages with concurrency, tested again under the race detector.
RACE_PKGS ?= ./data/... ./models/... ./serve/...

# Benchmarks: BENCH filters by name; BENCHTIME is passed as -benchtime only
# when set (otherwise go's default, 1s per benchmark).
BENCH      ?= .
BENCHTIME  ?=
BENCH_PKGS ?= ./...

# Fuzzing: every Fuzz* target matching FUZZ in FUZZ_PKGS, FUZZTIME each.
FUZZ      ?= .
FUZZTIME  ?= 30s
FUZZ_PKGS ?= ./...

BIN      := bin/routekit
GOMOD_OK := .cache/go-mod-download.ok

.PHONY: setup build test demo loadtest bench lint fuzz clean distclean

setup: $(ORT_LIB) $(GOMOD_OK)

$(ORT_LIB):
	ORT_VERSION=$(ORT_VERSION) scripts/setup-ort.sh $(@D) >/dev/null
	test -s $@

# go mod download is re-run only when go.mod or go.sum change.
$(GOMOD_OK): go.mod go.sum
	$(GO) mod download
	@mkdir -p $(@D) && touch $@

build: $(GOMOD_OK)
	$(GO) build -o $(BIN) ./cmd/routekit

test demo bench fuzz: export ROUTEKIT_ORT_LIB := $(ORT_LIB)

test: setup
	$(GO) vet ./...
	$(GO) test ./...
	$(GO) test -race $(RACE_PKGS)

demo: setup build
	BIN=$(BIN) DEMO_DIR=.cache/demo scripts/demo.sh

# Serving figures: mf and irt artifacts (built-in and tiny ONNX encoder)
# under routekit loadgen on loopback; see scripts/loadtest.sh for its env.
loadtest: export ROUTEKIT_ORT_LIB := $(ORT_LIB)
loadtest: setup build
	BIN=$(BIN) LOADTEST_DIR=.cache/loadtest scripts/loadtest.sh

bench: setup
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(if $(BENCHTIME),-benchtime '$(BENCHTIME)') $(BENCH_PKGS)

lint: $(GOMOD_OK)
	@unformatted=$$(gofmt -l $$(find . -name '*.go' -not -path './.cache/*' -not -path './.git/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	@if command -v duplicates >/dev/null 2>&1; then \
		echo "duplicates (informational):"; duplicates || true; \
	else \
		echo "duplicates: not on PATH, skipping (informational only)"; \
	fi

fuzz: setup
	FUZZ='$(FUZZ)' FUZZTIME='$(FUZZTIME)' GO='$(GO)' scripts/fuzz.sh $(FUZZ_PKGS)

clean:
	rm -rf bin .cache/demo
	rm -f *.test *.out *.prof

distclean: clean
	rm -rf .cache
