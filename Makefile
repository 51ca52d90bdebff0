# Polku developer commands. Everything runs with only Go installed; Redis-backed
# tests also need redis-server on PATH (.ci/run installs it and makes them mandatory).

SHELL := /bin/bash
PKGS := github.com/polku-hb/polku/...
BIN := $(CURDIR)/.bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/polku-hb/polku/platform/version.Version=$(VERSION) -X github.com/polku-hb/polku/platform/version.Commit=$(COMMIT)
# Generator binaries, built from tools/go.mod outside the workspace: buf pins a
# pre-release protobuf that must not leak into the service modules.
TOOL_PKGS := github.com/bufbuild/buf/cmd/buf \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2
GENERATED := proto/gen/go gateway/internal/openapi/spec
BENCH_PKGS := ./services/catalogue/service ./services/budget/service ./cmd/polku/internal/dev

# Fuzz targets, package:FuzzName, run one after the other for FUZZTIME each.
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target with
# "context deadline exceeded" when a duration runs out while a worker is busy
# (Go issue #75804, fixed in Go 1.27); a count has no deadline to race.
FUZZTIME ?= 20000x
FUZZ_WORKERS ?= 2
FUZZ_TARGETS := \
	./services/clients/internal/client:FuzzParsePIC \
	./services/catalogue/internal/catalogue:FuzzValidBusinessID \
	./services/budget/internal/ledger:FuzzParseClaimsCSV \
	./platform/pagination:FuzzDecode \
	./platform/pagination:FuzzEncode \
	./services/clients/internal/app:FuzzParseFilter \
	./services/clients/internal/app:FuzzApplyMask \
	./services/referral/internal/app:FuzzParseFilter \
	./services/catalogue/internal/grpcapi:FuzzParseFilter \
	./cmd/polku/internal/dev:FuzzGatewayJSON

.PHONY: run test test-faults lint generate check-generated build bench bench-micro clean tools help images fuzz

help:
	@echo "make run              start the all-in-one demo (polku dev) on http://127.0.0.1:8080"
	@echo "make test             run every module's tests"
	@echo "make test-faults      fault tests on real Redis processes: SIGKILL, freeze, cluster, failover (docs/resilience.md)"
	@echo "make lint             buf lint + format check, gofmt, go vet"
	@echo "make generate         regenerate Go and OpenAPI from proto/ (local plugins, no network registry)"
	@echo "make check-generated  fail if generated code is stale"
	@echo "make build            build binaries into bin/ (polku, gateway, the five services, web)"
	@echo "make bench            load generator on Redis (AOF) and the embedded store: seeded volume, scenarios, floor, growth, memory (docs/performance.md)"
	@echo "make bench-micro      go-test micro-benchmarks: catalogue search, budget commits, send-referral"
	@echo "make fuzz             run every fuzz target for FUZZTIME (default 20000x: executions) each"
	@echo "make images           container images of every component (podman or docker; BASE_IMAGE, or IMAGE_BUILD=host)"
	@echo "make clean            remove .data/, bin/ and .bin/"

run:
	go run -ldflags "$(LDFLAGS)" ./cmd/polku dev

test:
	go test -race -count=1 $(PKGS)
	# deploy/k8s is its own module outside go.work (Kubernetes dependencies stay out of the services)
	cd deploy/k8s && GOWORK=off go test -count=1 ./...

# Fault tests (build tag "faults", so `make test` stays fast): Redis killed,
# frozen, clustered and failed over under the real services. They need
# redis-server; see docs/resilience.md.
FAULT_PKGS := ./platform/store/redisstore ./cmd/polku/internal/faults
test-faults:
	go test -race -count=1 -tags faults -run '^TestFault' -timeout 10m $(FAULT_PKGS)

# A failing input is written to the package's testdata/fuzz/<FuzzName>/: commit
# it with the fix, and plain `go test` replays it from then on.
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "--- $$name ($$pkg, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -parallel $(FUZZ_WORKERS) $$pkg || exit 1; \
	done

# Container images, one per component. Needs podman or docker (CONTAINER_ENGINE;
# default: podman when installed, else docker). Tags: $(IMAGE_PREFIX)/<component>:$(VERSION).
#   IMAGE_BUILD=container (default): deploy/Containerfile, compiled in a Go image
#     (GO_IMAGE) onto BASE_IMAGE, a static, shell-less, non-root base from the
#     region's registry.
#   IMAGE_BUILD=host: compiled here (CGO_ENABLED=0, GOARCH=$(IMAGE_GOARCH)) and put
#     FROM scratch with the host's CA bundle (deploy/Containerfile.scratch); pulls nothing.
IMAGE_PREFIX ?= polku
IMAGE_COMPONENTS := gateway clients assessment budget catalogue referral web
IMAGE_BUILD ?= container
IMAGE_GOARCH ?= $(shell go env GOARCH)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
images:
	@engine="$${CONTAINER_ENGINE:-$$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"; \
	if ! command -v "$$engine" >/dev/null 2>&1 || ! "$$engine" info >/dev/null 2>&1; then \
		echo "make images: no usable container engine '$$engine' (not installed, or its daemon is not running); install docker or podman, or set CONTAINER_ENGINE" >&2; exit 1; fi; \
	case "$(IMAGE_BUILD)" in \
	host) \
		[ -r "$(CA_BUNDLE)" ] || { echo "make images: no CA bundle at $(CA_BUNDLE) (set CA_BUNDLE)" >&2; exit 1; }; \
		rm -rf .images && mkdir -p .images && cp "$(CA_BUNDLE)" .images/ca-certificates.crt; \
		for c in $(IMAGE_COMPONENTS); do \
			case $$c in gateway) pkg=./gateway/cmd/gateway ;; web) pkg=./web/cmd/web ;; *) pkg=./services/$$c/cmd/$$c ;; esac; \
			echo "building $(IMAGE_PREFIX)/$$c:$(VERSION) (host binary, FROM scratch)"; \
			CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_GOARCH) go build -trimpath -ldflags "-s -w $(LDFLAGS)" -o .images/$$c/app $$pkg || exit 1; \
			"$$engine" build -f deploy/Containerfile.scratch --build-arg COMPONENT=$$c --build-arg VERSION=$(VERSION) \
				-t $(IMAGE_PREFIX)/$$c:$(VERSION) .images || exit 1; \
		done ;; \
	container) \
		if [ -z "$(BASE_IMAGE)" ]; then \
			echo "make images: set BASE_IMAGE to a static, shell-less, non-root base image from the region's registry (or IMAGE_BUILD=host)" >&2; exit 1; fi; \
		for c in $(IMAGE_COMPONENTS); do \
			echo "building $(IMAGE_PREFIX)/$$c:$(VERSION)"; \
			DOCKER_BUILDKIT=1 "$$engine" build -f deploy/Containerfile \
				--build-arg COMPONENT=$$c --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
				--build-arg BASE_IMAGE="$(BASE_IMAGE)" $(if $(GO_IMAGE),--build-arg GO_IMAGE="$(GO_IMAGE)") \
				-t $(IMAGE_PREFIX)/$$c:$(VERSION) . || exit 1; \
		done ;; \
	*) echo "make images: IMAGE_BUILD must be container or host" >&2; exit 1 ;; \
	esac

tools: $(BIN)/buf
$(BIN)/buf: tools/go.mod tools/go.sum
	cd tools && GOWORK=off go build -o $(BIN)/ $(TOOL_PKGS)

generate: tools
	PATH="$(BIN):$$PATH" buf generate

check-generated: generate
	@if [ -n "$$(git status --porcelain -- $(GENERATED))" ]; then \
		echo "generated code is stale: run 'make generate' and commit the result"; \
		git status --porcelain -- $(GENERATED); exit 1; fi

lint: tools
	PATH="$(BIN):$$PATH" buf lint
	PATH="$(BIN):$$PATH" buf format --diff --exit-code proto
	@out=$$(gofmt -l platform services gateway cmd deploy web); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	go vet -tags faults $(FAULT_PKGS)

build:
	mkdir -p bin
	go build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/polku ./gateway/cmd/gateway \
		./services/clients/cmd/clients ./services/catalogue/cmd/catalogue ./services/assessment/cmd/assessment ./services/budget/cmd/budget \
		./services/referral/cmd/referral ./web/cmd/web

# The load generator (polku bench, docs/performance.md): seeds the full volume
# into a real Redis with AOF on and then into the embedded store, runs every
# scenario at fixed concurrency, prints a table and writes bench/out/latest.json.
# On Redis it then runs the six service and gateway binaries of bin/ as separate
# processes (-split) for the memory of each.
# Needs redis-server. BENCH_FLAGS passes flags, e.g. BENCH_FLAGS='-scale 0.1 -d 5s'.
BENCH_FLAGS ?=
bench:
	mkdir -p bin
	go build -ldflags "$(LDFLAGS)" -o bin/ ./cmd/polku ./gateway/cmd/gateway \
		./services/clients/cmd/clients ./services/catalogue/cmd/catalogue ./services/assessment/cmd/assessment ./services/budget/cmd/budget \
		./services/referral/cmd/referral
	./bin/polku bench -bin bin $(BENCH_FLAGS)

# go-test micro-benchmarks on the embedded store and a real Redis: catalogue
# search (POLKU_BENCH_OFFERINGS, default 20000), budget commitments, and the
# REST send-referral next to a bare gRPC health check (POLKU_BENCH_STORE=redis).
bench-micro:
	go test -run '^$$' -bench . -benchtime 200x -timeout 60m $(BENCH_PKGS)

clean:
	rm -rf .data bin $(BIN)
