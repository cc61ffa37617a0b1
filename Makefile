# jitpwiz — build, test and check. `make test` is the one command that runs every test.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# Empty: each fuzz target runs a fixed number of executions (scripts/fuzz.sh says why not a duration).
FUZZTIME ?=
VHS_VERSION ?= v0.10.0
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
VHS := $(shell command -v vhs 2>/dev/null || echo $(GOBIN_DIR)/vhs)

.PHONY: all build run test unit fuzz lint bench bench-go soak deps demo demo-validate golden clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/jitpwiz .

run: build
	./bin/jitpwiz

# Every test: tool check, gofmt+vet, unit+e2e tests (real openssl, AWS CLI, mosquitto, tmux),
# short fuzz runs, and the demo tape's syntax.
test: deps lint demo-validate unit fuzz

# Debian packages openssl, awscli, mosquitto-clients and tmux (apt-get, only when missing) and a
# pinned vhs (go install): the real tools the tests drive.
deps:
	@bash scripts/deps.sh

unit:
	$(GO) test -count=1 -timeout 15m ./...

# Short fuzz runs of every Fuzz target (each package's targets run one at a time); FUZZTIME=1m for a deeper run.
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Rewrite the TUI's golden screens (only ui/ has golden files, so only it gets -update).
golden:
	$(GO) test ./ui -run Golden -update

# Measure at size and write docs/benchmarks.md (several minutes; not part of make test, whose
# unit tests only smoke-test the benchmark code). Go micro-benchmarks: make bench-go.
bench: build
	$(GO) run ./scripts/bench -bin bin/jitpwiz -out docs/benchmarks.md

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Soak benchmark (not part of test or CI): `jitpwiz local` under mixed load for SOAK_DURATION,
# sampling RSS, open descriptors and accept latency (soak_test.go; docs/benchmarks.md, "Soak").
SOAK_DURATION ?= 20m
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -tags soak -run '^TestSoak$$' -count=1 -timeout 0 -v .

# Record demo.tape's run of `jitpwiz --demo` with asciinema (vhs cannot record here: it needs
# ttyd) and render docs/demo.svg with svg-term; both are installed by scripts/deps.sh.
demo: deps
	$(GO) run ./scripts/demo -tape demo.tape -svg docs/demo.svg

# vhs is pinned and installed with go install (kept out of go.mod); validate only parses the tape.
demo-validate:
	@test -s demo.tape
	@test -x "$(VHS)" || $(GO) install github.com/charmbracelet/vhs@$(VHS_VERSION)
	"$(VHS)" validate demo.tape

clean:
	rm -rf bin
