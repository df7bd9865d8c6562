# handheld — the two commands a fresh machine needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
BIN     := bin/handheld
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run build test e2e bench lint fmt services client client-release clean

## run: start handheld on the embedded default (simulator, SQLite, in-process limits, WeChat sandbox)
run: build
	./$(BIN) serve

# build says so when it compiles from scratch (a cold build takes a minute or
# two) or the binary is older than the sources; a current binary builds quietly.
build:
	@if [ ! -e $(BIN) ]; then echo "building $(BIN) (the first build takes a minute or two)..."; \
	elif [ -n "$$(find . \( -path ./bin -o -path ./var -o -path ./.git \) -prune -o -newer $(BIN) \
	    \( -name '*.go' -o -name '*.yaml' -o -name 'go.mod' -o -name 'go.sum' -o -path './templates/*' -o -path './locales/*' \) -print -quit)" ]; then \
	  echo "rebuilding $(BIN) (sources changed)..."; fi
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./bff/cmd/handheld

# RACE is how the tests build: with the race detector everywhere. -race also
# turns on checkptr, which checks every unsafe.Pointer conversion; in
# modernc.org's SQLite (C translated to Go, all pointer arithmetic) those
# checks took half of the CPU of every test that opens a SQLite database,
# and a finding there would be a bug in the translation, not in handheld.
# checkptr stays on for every other package, and the race detector for all.
RACE := -race -gcflags='modernc.org/...=-d=checkptr=0'
# A race-built binary sleeps 1 s as it exits, for reports from goroutines
# still running; go test has already failed any test during which a race
# was found, so the ~40 idle seconds across the packages buy nothing here.
export GORACE ?= atexit_sleep_ms=0

# SUITED are the packages whose tests run again under the sm cryptographic
# suite (HANDHELD_CRYPTO=sm: SM2, SM3, SM4): the keyed hash and what it
# keys (pseudonyms, kv keys, cursors), keys, tokens, e-cards, certificates,
# the audit chain and personal data at rest.
SUITED := ./services/ ./services/kv/ ./services/account/ ./services/keys/... ./services/token/ ./services/ecard/ ./services/certificate/ ./services/audit/ ./services/seal/ ./services/store/

## test: every test with -race, against real PostgreSQL and Redis (started if installed but stopped), then the crypto suites under sm
test: services
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 15m ./...
	HANDHELD_CRYPTO=sm $(GO) test $(RACE) -count=1 -timeout 15m $(SUITED)

## e2e: only the end-to-end suite
e2e: services
	$(GO) test $(RACE) -count=1 -timeout 10m ./e2e/...

## bench: the Go benchmarks, then the load scenarios against their baselines (figures in README.md)
bench: services build
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	./$(BIN) bench

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

services:
	@bash .ci/services
	@bash .ci/browser
	@bash .ci/poppler
	@bash .ci/node

## client: regenerate the TypeScript client's types (bff/client/src/schema.ts) from bff/openapi.yaml, then compile and test it
client:
	@bash .ci/node
	cd bff/client && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
	  && npm run --silent generate && npm run --silent check && npm test --silent

## client-release: bff/openapi.yaml becomes the released API (what breaking changes are measured from), announcements cleared, client regenerated
client-release:
	cp bff/openapi.yaml bff/client/released/openapi.yaml
	sed -i '/^announced:/,$$d' bff/client/announced.yaml && echo 'announced: []' >> bff/client/announced.yaml
	$(MAKE) client
	$(GO) test -count=1 ./bff/client/

clean:
	rm -rf bin var
