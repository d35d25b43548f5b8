#!/usr/bin/env bash
# `make e2e-kind`: the whole stack on a kind cluster, for workstations with kind and Docker (docs/e2e-kind.md).
# It cannot run on this project's own machines (no Docker daemon, no kind); there the suites run on the test
# cluster instead (scripts/cluster). Environment: KIND_CLUSTER (infergate-e2e), IMAGE (ghcr.io/infergate/infergate:e2e),
# KEEP=1 to leave the cluster up afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."

fail() { echo "make e2e-kind: $*" >&2; exit 1; }
missing=()
for tool in kind docker kubectl helm curl; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
((${#missing[@]} == 0)) || fail "needs ${missing[*]} on PATH (kind and Docker are not on this project's machines: this target is for workstations; see docs/e2e-kind.md)"
docker info >/dev/null 2>&1 || fail "the Docker daemon is not reachable (docker info failed; this project's machines have none): start Docker and retry"

source scripts/versions.env
CLUSTER=${KIND_CLUSTER:-infergate-e2e}
IMAGE=${IMAGE:-ghcr.io/infergate/infergate:e2e}
REPO=${IMAGE%:*} TAG=${IMAGE##*:}
K=(kubectl --context "kind-$CLUSTER")
H=(helm --kube-context "kind-$CLUSTER")
say() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then say "kind cluster $CLUSTER exists"
else say "creating kind cluster $CLUSTER"; kind create cluster --name "$CLUSTER" --wait 180s; fi
[[ ${KEEP:-} == 1 ]] || trap 'say "deleting kind cluster $CLUSTER (KEEP=1 keeps it)"; kind delete cluster --name "$CLUSTER"' EXIT

say "building $IMAGE"
make --no-print-directory image IMAGE="$IMAGE"
kind load docker-image "$IMAGE" --name "$CLUSTER"

say "CRDs: Gateway API $GATEWAY_API_VERSION, Inference Extension $INFERENCE_EXTENSION_VERSION, infergate crds"
"${K[@]}" apply --server-side -k "https://github.com/kubernetes-sigs/gateway-api/config/crd?ref=$GATEWAY_API_VERSION"
"${K[@]}" apply --server-side -k \
  "https://github.com/kubernetes-sigs/gateway-api-inference-extension/config/crd?ref=$INFERENCE_EXTENSION_VERSION"
docker run --rm "$IMAGE" crds | "${K[@]}" apply --server-side -f -
"${K[@]}" wait --for condition=Established crd --all --timeout=120s

say "helm/infergate (control plane) into infergate-system"
"${H[@]}" upgrade --install infergate helm/infergate --namespace infergate-system --create-namespace \
  --set image.repository="$REPO" --set image.tag="$TAG" --set image.pullPolicy=IfNotPresent \
  --set gatewayClass.envoy.serviceType=ClusterIP --wait --timeout 5m

say "model servers and the Gateway"
sed "s|INFERGATE_IMAGE|$IMAGE|" docs/e2e-kind/model-servers.yaml | "${K[@]}" apply -f -

say "helm/inferencepool (pool, EPP, HTTPRoute) into default"
"${H[@]}" upgrade --install vllm-llama3-8b-instruct helm/inferencepool --namespace default \
  --set inferencePool.modelServers.matchLabels.app=vllm-llama3-8b-instruct \
  --set inferenceExtension.image.registry="${REPO%%/*}" --set inferenceExtension.image.repository="${REPO#*/}" \
  --set inferenceExtension.image.tag="$TAG" --set inferenceExtension.image.pullPolicy=IfNotPresent \
  --set experimentalHttpRoute.enabled=true --set experimentalHttpRoute.inferenceGatewayName=inference-gateway \
  --wait --timeout 5m

"${K[@]}" rollout status deployment/vllm-llama3-8b-instruct --timeout=300s
"${K[@]}" wait gateway/inference-gateway --for=condition=Programmed --timeout=300s
"${K[@]}" rollout status deployment/infergate-inference-gateway --timeout=300s

say "a completion through the managed Envoy (port-forward to Service infergate-inference-gateway)"
"${K[@]}" port-forward service/infergate-inference-gateway 18080:8080 >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true; [[ ${KEEP:-} == 1 ]] || kind delete cluster --name "$CLUSTER"' EXIT
pods=$("${K[@]}" get pods -l app=vllm-llama3-8b-instruct -o jsonpath='{range .items[*]}{.status.podIP}:8000 {end}')
for i in $(seq 1 60); do
  out=$(curl -s -i -m 10 http://127.0.0.1:18080/v1/completions -H 'content-type: application/json' \
    -d '{"model":"meta-llama/Llama-3.1-8B-Instruct","prompt":"Write a haiku about Envoy","max_tokens":8}' || true)
  if [[ $out == "HTTP/1.1 200"* ]]; then
    served=$(sed -n 's/^x-infergate-sim: *\([^[:space:]]*\).*/\1/p' <<<"$out")
    [[ " $pods " == *" $served "* ]] || fail "200, but served by '$served', not one of the pool's pods: $pods"
    say "200 from pool pod $served: e2e-kind passed"
    exit 0
  fi
  sleep 2
done
fail "no 200 through the Gateway in 120 s; last answer: ${out:-none}"
