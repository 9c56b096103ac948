.DEFAULT_GOAL := help

# Version stamped into the binary and the image tag.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Benchmarks to run (a -bench pattern) and how long each runs (empty: go's default, 1s).
BENCH ?= .
BENCHTIME ?=
# How long `make fuzz` fuzzes.
FUZZTIME ?= 60s

GO ?= go
# The staticcheck that make lint runs, fetched through the module proxy.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN := bin/leadworker

.PHONY: help run test bench bench-raw fuzz chaos build lint docker clean previews

help: ## List the targets
	@echo 'Usage: make <target> [VAR=value]'
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo 'Variables: VERSION=$(VERSION) BENCH=$(BENCH) BENCHTIME=$(BENCHTIME) FUZZTIME=$(FUZZTIME)'

run: ## Run the daemon on 127.0.0.1:8080 with an embedded in-memory Redis
	$(GO) run ./cmd/leadworker serve

test: ## Run every test with the race detector (needs redis-server and chromium on the PATH)
	$(GO) test -race -count=1 ./...

bench: ## Compare leadworker with its bare baselines in one table (BENCHFLAGS='-quick -only intake')
	$(GO) run ./tools/benchtable -go '$(GO)' $(BENCHFLAGS)

bench-raw: ## Run benchmarks as they are (narrow with BENCH=regexp, BENCHTIME=100x or 5s)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(if $(BENCHTIME),-benchtime '$(BENCHTIME)') ./...

fuzz: ## Fuzz lead intake decoding for FUZZTIME (default 60s)
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeIntake$$' -fuzztime $(FUZZTIME) ./internal/store

chaos: ## Inject faults into real processes (Redis, 2 replicas, SMTP sink); see docs/RELIABILITY.md
	$(GO) test -tags chaos -count=1 -v -timeout 30m ./internal/chaos

build: ## Build bin/leadworker stamped with VERSION
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/leadworker

lint: ## Check formatting (gofmt -l), then run go vet and staticcheck
	@files=$$(gofmt -l .); \
	if [ -n "$$files" ]; then echo "gofmt -l lists files that need formatting (run gofmt -w):"; echo "$$files"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags chaos ./internal/chaos
	$(GO) run $(STATICCHECK) ./...

previews: ## Screenshot every email in every locale into docs/emails/ (apt-get installs chromium if missing)
	@set -e; missing=; \
	if [ -z "$$CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
		&& ! command -v google-chrome >/dev/null 2>&1; then missing=" chromium"; fi; \
	if command -v dpkg-query >/dev/null 2>&1; then \
		for p in fonts-noto-cjk fonts-noto-color-emoji fonts-liberation; do \
			dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
		done; \
	fi; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "make previews needs:$$missing; install Chromium (or set CHROMIUM to its path) first" >&2; exit 1; \
		fi; \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		echo "--- installing$$missing with apt-get"; \
		$$sudo apt-get update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi
	$(GO) run ./tools/previews -out docs/emails

docker: ## Build the container image leadworker:VERSION
	docker build --build-arg VERSION=$(VERSION) -t leadworker:$(VERSION) .

clean: ## Remove bin/
	rm -rf bin
