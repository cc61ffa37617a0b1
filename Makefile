# jitpwiz — build, test and check. `make test` is the one command that runs every test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 5s

.PHONY: all build run test unit fuzz lint bench deps demo-validate golden clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/jitpwiz .

run: build
	./bin/jitpwiz

# Every test: tool check, vet, unit+e2e tests (real openssl, AWS CLI, mosquitto), short fuzz runs.
test: deps lint unit fuzz

deps:
	@bash scripts/deps.sh

unit:
	$(GO) test -count=1 -timeout 15m ./...

# Short fuzz runs of every Fuzz target (each package's targets run one at a time).
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

demo-validate:
	@test -s demo.tape
	@command -v vhs >/dev/null || $(GO) install github.com/charmbracelet/vhs@v0.10.0
	vhs validate demo.tape

clean:
	rm -rf bin
