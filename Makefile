# Vigil — runtime security for Kubernetes nodes. `make help` lists the targets.

SHELL     := /bin/bash
# sudo often drops Go from PATH: fall back to the standard install location.
GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
# Tests and scripts run `go` too: keep its directory on PATH.
export PATH := $(PATH):$(patsubst %/,%,$(dir $(GO))):$(shell $(GO) env GOPATH 2>/dev/null)/bin
BIN       ?= bin/vigil
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Rules files for `make run` (-r each); empty runs the built-in default rules.
RULES     ?=
ARGS      ?=
# Packages whose tests need root (BPF, real processes, containerd, an API
# server, e2e): every package with a .go file that calls
# testutil.RequireRoot or imports a test helper that does. Derived, so a new
# root test is never left out of test-root.
ROOT_RE   := testutil\.RequireRoot[(]|"github\.com/vigilsec/vigil/test/(containerd|kubeapi|cluster)"
ROOT_PKGS ?= $(sort $(patsubst %/,./%,$(dir $(shell grep -rlE --include='*.go' '$(ROOT_RE)' cmd pkg rules test))))
# Packages whose tests must not share the machine with others (a whole
# Kubernetes node; emulated kernels under qemu); make test runs them last,
# one at a time.
SERIAL_PKGS ?= github.com/vigilsec/vigil/test/cluster github.com/vigilsec/vigil/test/kernels/matrix
SERIAL_DIRS := $(addprefix ./,$(subst github.com/vigilsec/vigil/,,$(SERIAL_PKGS)))
# As root, a test whose prerequisite is missing (a binary, a service that
# does not start) fails instead of skipping: `sudo make test` is exactly what
# CI runs. Set VIGIL_STRICT_TESTS= to skip instead.
VIGIL_STRICT_TESTS ?= $(if $(filter 0,$(shell id -u)),1)
# What `make generate` runs (generate-check's own tests replace it).
GENERATE  ?= $(GO) generate ./...
FUZZTIME  ?= 20s
BENCHTIME ?= 1s

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: deps
deps: ## install what builds and tests need (apt packages and Go tools; needs root)
	./test/deps.sh

.PHONY: generate
generate: ## regenerate the BPF objects and Go bindings (amd64 and arm64; needs clang)
	$(GENERATE)

.PHONY: generate-check
generate-check: ## fail when `make generate` changes any tracked file or adds an untracked one (needs a clean tree)
	@changes=$$(git status --porcelain); [ -z "$$changes" ] || { \
	  echo "generate-check: the tree has uncommitted changes; commit them first:"; echo "$$changes"; exit 1; }
	@$(MAKE) --no-print-directory generate
	@changes=$$(git status --porcelain); [ -z "$$changes" ] || { \
	  echo "generate-check: 'make generate' changed the tree; run it and commit:"; echo "$$changes"; git --no-pager diff --stat; exit 1; }

.PHONY: build
build: ## build bin/vigil (no clang needed: BPF objects are committed)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

.PHONY: run
run: build ## run the agent on the default rules, alerts on the terminal (needs root)
	./$(BIN) run $(foreach r,$(RULES),-r $(r)) $(ARGS)

.PHONY: test
test: ## run the whole test suite (as root the kernel, container and cluster tests run too, and must not skip)
	$(GO) vet ./...
	VIGIL_STRICT_TESTS=$(VIGIL_STRICT_TESTS) $(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v -x -F -f <(printf '%s\n' $(SERIAL_PKGS)))
	@# The cluster and the emulated kernels: after the rest, one at a time.
	VIGIL_STRICT_TESTS=$(VIGIL_STRICT_TESTS) $(GO) test -p 1 -count=1 -timeout 20m $(addprefix ./,$(subst github.com/vigilsec/vigil/,,$(SERIAL_PKGS)))

.PHONY: test-root
test-root: ## run only the tests that need root and BPF
	@[ "$$(id -u)" = 0 ] || { echo "make test-root needs root"; exit 1; }
	VIGIL_STRICT_TESTS=1 $(GO) test -count=1 -timeout 30m $(filter-out $(SERIAL_DIRS),$(ROOT_PKGS))
	@# The cluster: after the rest, alone.
	$(if $(filter $(SERIAL_DIRS),$(ROOT_PKGS)),VIGIL_STRICT_TESTS=1 $(GO) test -p 1 -count=1 -timeout 20m $(filter $(SERIAL_DIRS),$(ROOT_PKGS)))

.PHONY: test-cluster
test-cluster: ## run the multi-tenant scenario on a real single-node Kubernetes (needs root; also part of make test)
	@[ "$$(id -u)" = 0 ] || { echo "make test-cluster needs root"; exit 1; }
	./test/k8s-bins.sh >/dev/null
	./test/cluster/k8s-node-bins.sh >/dev/null
	VIGIL_STRICT_TESTS=1 $(GO) test -count=1 -v -timeout 20m -run '^TestMultiTenant$$' ./test/cluster

.PHONY: test-kernels
test-kernels: ## boot the probe on Debian's kernels (5.10 to sid, amd64 and arm64) under qemu; KERNELS_ARGS='-series 6.1 -arch arm64' narrows it
	$(GO) run ./test/kernels/run $(KERNELS_ARGS)

.PHONY: bench
bench: ## run the benchmarks (figures, not pass/fail)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfe[lb]\.go$$')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: clean
clean: ## remove build output
	rm -rf bin
