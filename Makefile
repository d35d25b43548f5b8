# infergate — see README.md. Every target installs what it needs through `setup`.
SHELL := /bin/bash
NPX := npx --no-install

.PHONY: setup generate build test unit e2e bench up lint clean fuzz cluster-tools image e2e-kgateway e2e-kind conformance bench-peers

setup:
	@bash scripts/setup.sh

generate: setup
	@bash scripts/generate.sh

build: setup
	@$(NPX) tsc -p tsconfig.build.json

# Tests run in their own network namespace and TMPDIR (scripts/test-isolated.sh): two runs at once never collide.
# cluster-tools: the Kubernetes suites' real etcd/kube-apiserver/Helm (cached per machine: ~1 s; ~22 min cold).
# conformance.sh build: the upstream GIE conformance suite, lwepp and echo-basic for test/conformance (178 s cold in one run, conformance/BUILD.md).
test: build cluster-tools
	@bash scripts/conformance.sh build
	@$(NPX) tsc -p tsconfig.json --noEmit
	@bash scripts/test-isolated.sh $(NPX) jest --ci

e2e: build
	@bash scripts/test-isolated.sh $(NPX) jest --ci test/e2e

# infergate's EPP behind kgateway v2.2.0 (test/kgateway/README.md): builds kgateway from the Go module proxy into the
# per-machine cache (~13 min and ~3 GB cold, seconds cached), then runs the drop-in test. Not part of `make test`.
# The upstream GIE conformance suite (v1.6.0) against infergate, configurations A and B (conformance/README.md).
conformance: build cluster-tools
	@bash scripts/conformance.sh build
	@bash scripts/test-isolated.sh node -r ts-node/register/transpile-only conformance/run.ts $(CONFORMANCE_ARGS)

e2e-kgateway: build cluster-tools
	@bash scripts/kgateway.sh build
	@INFERGATE_E2E_KGATEWAY=1 bash scripts/test-isolated.sh $(NPX) jest --ci test/kgateway

bench: build
	@node bin/infergate.js bench compile
	@node bin/infergate.js bench routing
	@node bin/infergate.js bench flow
	@node bin/infergate.js bench disagg
	@node bin/infergate.js bench bursts

# infergate's EPP side by side with the upstream GIE EPP v1.5.0 and llm-d v0.7.1 (bench/peers/README.md): builds the
# peers from the Go module proxy into the per-machine cache (scripts/peers.sh: ~10 min cold, seconds cached), then
# runs the benchmark in the test cluster's network namespace. BENCH_PEERS_ARGS=--quick for the ≤ 10 min version.
bench-peers: build cluster-tools
	@bash scripts/peers.sh build
	@node bin/infergate.js bench peers $(BENCH_PEERS_ARGS)

# Random ext_proc streams against a real `infergate epp` and resource YAML mutations (test/fuzz/README.md).
# FUZZ_N ext_proc inputs (default 100000), FUZZ_YAML_N, FUZZ_SEED; writes bench/results/fuzz.json.
fuzz: build
	@FUZZ_N=$${FUZZ_N:-100000} bash scripts/test-isolated.sh $(NPX) ts-node --transpile-only test/fuzz/main.ts

up: build
	@node bin/infergate.js up examples/quickstart

lint: setup
	@$(NPX) tsc -p tsconfig.json --noEmit
	@$(NPX) eslint .
	@$(NPX) prettier --check "src/**/*.ts" "test/**/*.ts" "bench/**/*.ts" "conformance/**/*.ts"

# Pinned etcd, Kubernetes control plane, kubectl, Helm and CRD modules, built into a per-machine cache (test/cluster/README.md).
cluster-tools:
	@bash scripts/cluster-tools.sh

# The container image (Dockerfile): one image for serve, epp, bbr and sim. Needs docker or buildah, which this
# project's machines do not have; what the image installs is proved here by test/image/pack.test.ts.
IMAGE ?= ghcr.io/infergate/infergate:$(shell node -p "require('./package.json').version" 2>/dev/null || echo dev)
image:
	@if docker info >/dev/null 2>&1; then docker build -t $(IMAGE) .; \
	elif command -v buildah >/dev/null 2>&1; then buildah bud -t $(IMAGE) .; \
	else echo "make image: no running Docker daemon and no buildah: neither runs on this project's machines." \
	  "Build on a workstation with Docker or buildah; test/image/pack.test.ts proves here what the image installs." >&2; exit 1; fi

# The whole stack on a kind cluster (docs/e2e-kind.md): workstations with kind and Docker only; this project's
# machines have neither, and the target says so and fails. KIND_CLUSTER, IMAGE, KEEP=1 (leave the cluster up).
e2e-kind:
	@bash docs/e2e-kind/run.sh

clean:
	rm -rf dist coverage
