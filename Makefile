# deepflow-compose: `make build`, `make test`, `make golden`, `make lint`.
GO ?= go
BIN ?= bin/deepflow-compose
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: build test golden lint fuzz render bench

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/deepflow-compose

# Installs Debian's docker.io and busybox-static when missing (as root),
# starts a private dockerd for the engine tests, runs everything.
test:
	scripts/test.sh

# Regenerate golden files; read `git diff` before committing them.
golden:
	$(GO) test ./render ./agentcfg ./check ./layout ./export/helm ./bootstrap ./doctor ./cmd/deepflow-compose -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./bundle
	CGO_ENABLED=0 $(GO) run $(STATICCHECK) ./bundle
	$(GO) run $(STATICCHECK) ./...

# Prints each target's execution count; full logs in fuzz-logs/.
fuzz:
	GO=$(GO) scripts/fuzz.sh

# The ratios of issue 14 (bundle save/load, render, up next to their
# anchors); needs root for the private engine. PAIRS=n sets the pairs.
bench:
	GO=$(GO) scripts/bench.sh

# Render a deployment with the defaults into ./deepflow.
render:
	$(GO) run ./cmd/deepflow-compose render -o deepflow
