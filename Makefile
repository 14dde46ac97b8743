# Haul — run `make help` for the targets.
SHELL := /usr/bin/env bash
export GOTOOLCHAIN := local

BIN        ?= bin
HAUL       := $(BIN)/haul
DATA_DIR   ?= $(HOME)/.local/share/haul
ADDR       ?= 127.0.0.1:8080
CACHE_DIR  ?= $(HOME)/.cache/haul
LINT       := $(CACHE_DIR)/golangci-lint-v2.15.0-kal-20260716
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS    := -X github.com/haul-dev/haul/internal/version.Version=$(VERSION) -X github.com/haul-dev/haul/internal/version.Commit=$(COMMIT)
GO_TEST_FLAGS ?= -race -timeout 30m
BENCHTIME  ?= 1x
FUZZTIME   ?= 10s
HAVE_NPM   := $(shell command -v npm >/dev/null 2>&1 && echo yes)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: controlplane build ## Run Haul locally with the demo project (haul up --demo)
	$(HAUL) up --demo --data-dir $(DATA_DIR) --addr $(ADDR)

.PHONY: run-flux
run-flux: controlplane flux build ## Run the demo with real Flux source- and kustomize-controllers deploying each stage (haul up --demo --reconciler flux)
	$(HAUL) up --demo --reconciler flux --data-dir $(DATA_DIR) --addr $(ADDR)

.PHONY: build
build: $(if $(HAVE_NPM),ui) ## Build bin/haul (with the dashboard when npm is available)
	go build -ldflags "$(LDFLAGS)" -o $(HAUL) ./cmd/haul

.PHONY: controlplane
controlplane: ## Compile kube-apiserver, kube-controller-manager and etcd from the Go module proxy into the cache (once)
	@hack/controlplane/build.sh >/dev/null

.PHONY: gitea
gitea: ## Compile the Gitea server (the forge the pull-request steps are tested against) from the Go module proxy into the cache (once)
	@hack/gitea/build.sh >/dev/null

.PHONY: test
test: controlplane $(if $(HAVE_NPM),test-ui) ## Unit and integration tests (real API server, -race), and the dashboard's when npm is present
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-ui
test-ui: ## Dashboard unit tests (vitest)
	cd ui && npm ci --no-audit --no-fund && npm test

.PHONY: test-e2e
test-e2e: controlplane build ## End-to-end tests driving the haul binary, real servers and Chromium
	HAUL_BIN=$(abspath $(HAUL)) go test -tags e2e -timeout 40m -count=1 ./test/... $(if $(wildcard test/ui),./test/ui/...)

.PHONY: test-argocd
test-argocd: controlplane ## Tests against a real Argo CD (builds it once; needs root for a network namespace, git, redis-server)
	hack/argocd/test.sh

.PHONY: flux
flux: ## Compile Flux's source-controller and kustomize-controller from the Go module proxy into the cache (once)
	@hack/flux/build.sh >/dev/null

.PHONY: test-flux
test-flux: controlplane flux ## flux-reconcile and Flux health against the real source- and kustomize-controller (tag flux)
	go test -race -tags flux -count=1 -timeout 20m ./test/flux/

.PHONY: rollouts
rollouts: ## Compile Argo Rollouts' controller (v1.10.2, with GOTOOLCHAIN=go1.27.3 for that build only) from the Go module proxy into the cache (once)
	@hack/rollouts/build.sh >/dev/null

.PHONY: test-rollouts
test-rollouts: controlplane rollouts ## Stage verification against the real Argo Rollouts controller (tag rollouts)
	go test -race -tags rollouts -count=1 -timeout 20m ./test/rollouts/

.PHONY: bench
bench: controlplane ## Benchmarks (figures via b.ReportMetric); BENCHTIME=1x by default
	go test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 30m ./...

.PHONY: bench-scale
bench-scale: controlplane ## Installation-scale benchmarks (1,000-Stage fan-out, 10,000 Promotions with retention, 100,000 Freight); tens of minutes
	HAUL_BENCH_SCALE=1 go test -run '^$$' -bench 'ThousandStageFanOut|TenThousandPromotions|HundredThousandFreight|NewFreightAtScale' -benchtime 1x -timeout 90m ./test/shard/ ./controllers/stage/

# FUZZERS lists package:FuzzName; `go test` runs each one's seeds (testdata/fuzz) anyway.
FUZZERS := \
	./promotion:FuzzSecurePath ./promotion:FuzzEvalTemplate \
	./warehouse:FuzzSelectTags ./warehouse:FuzzNormalizeRepoURL ./warehouse:FuzzRetryAfter \
	./internal/webhook:FuzzRepoURLs ./internal/webhook:FuzzGiteaPayload ./internal/webhook:FuzzBitbucketPayload \
	./internal/webhook:FuzzArtifactoryPayload ./internal/webhook:FuzzAzurePayload ./internal/manifest:FuzzLoadAndValidate \
	./internal/server/auth:FuzzSafeRedirect ./internal/server/auth:FuzzUnverifiedIssuer \
	./pkg/gitx:FuzzCheckURL ./pkg/redact:FuzzValues \
	./promotion:FuzzCompileStrict ./promotion/steps:FuzzParseYAMLSafe ./promotion/steps:FuzzScalarNodeRoundTrip \
	./promotion/steps:FuzzAuthorizedStage ./internal/server/auth:FuzzClaimMapping ./internal/webhook:FuzzParsePath \
	./internal/webhook:FuzzSignatureHeader ./pkg/gitx:FuzzPackedRef \
	./warehouse:FuzzPathMatchers ./warehouse:FuzzExpressionFilter ./warehouse:FuzzParseCreated ./warehouse:FuzzCriteria ./warehouse:FuzzHelmIndex \
	./warehouse:FuzzTagListPagination ./internal/server:FuzzParseManifests ./promotion/steps:FuzzTOMLUpdate \
	./pkg/pipeline:FuzzEvaluateWindows ./internal/server:FuzzLastEventID ./internal/webhook:FuzzPullRequestEvent \
	./internal/webhook/generic:FuzzGenericActions

.PHONY: fuzz
fuzz: ## Run every fuzzer for FUZZTIME (default 10s) each
	@FUZZTIME=$(FUZZTIME) hack/fuzz/run.sh $(FUZZERS)

.PHONY: generate
generate: ## Regenerate deepcopy code, CRDs (controller-gen pinned in go.mod), docs/reference/api.md and the dashboard's API types
	go tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	go tool controller-gen crd paths=./api/... output:crd:artifacts:config=charts/haul/crds
	go run ./hack/apiref -api api/v1alpha1 -out docs/reference/api.md
	go run ./hack/tsapi -crds charts/haul/crds -out ui/src/api/generated.ts

.PHONY: verify
verify: generate lint $(if $(HAVE_NPM),lint-ui) ## Regenerate and fail on any diff, go mod tidy, go vet, golangci-lint
	@git diff --exit-code -- api charts/haul/crds docs/reference ui/src/api/generated.ts || { echo "generated files are out of date: run make generate and commit"; exit 1; }
	go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy and commit"; exit 1; }
	go vet ./...

$(LINT):
	@mkdir -p $(CACHE_DIR)
	cd hack/tools && go build -o $(LINT) sigs.k8s.io/kube-api-linter/cmd/golangci-lint-kube-api-linter

.PHONY: lint
lint: $(LINT) ## golangci-lint with the Kube API Linter compiled in (pinned in hack/tools)
	$(LINT) run ./...

.PHONY: lint-ui
lint-ui: ## ESLint (type-aware typescript-eslint, React hooks) and tsc over the dashboard
	cd ui && npm ci --no-audit --no-fund && npm run lint && npm run typecheck

.PHONY: ui
ui: ## Build the dashboard into ui/dist (embedded by go build)
	cd ui && npm ci --no-audit --no-fund && npm run build
