# cutover: the two commands of the quick start, and what they stand on.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin:/usr/sbin
GO ?= go
BIN := bin/cutover

.PHONY: all build deps test demo bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/cutover

# Installs NGINX with the Lua module (and the other Debian packages tests
# use) when missing and running as root; elsewhere it says what is missing.
deps:
	@bash scripts/deps.sh

test: deps
	$(GO) vet ./...
	# -p 1: one package at a time, so that the timing comparisons inside a
	# package (isolation, pacing, rollout gates) do not race other packages.
	$(GO) test -race -count=1 -p 1 ./...

demo: deps build
	@bash scripts/demo.sh $(BIN)

bench:
	CUTOVER_DEPS_EXTRA="tshark:tshark" bash scripts/deps.sh
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
