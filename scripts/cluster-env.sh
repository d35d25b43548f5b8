# Shared by scripts/cluster-tools.sh and scripts/cluster: pinned versions and where their builds live.
# The cache sits outside the clone (like setup-envtest's), keyed by version, so fresh clones and CI reuse it.
# shellcheck shell=bash
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$SCRIPTS_DIR/versions.env"
CACHE=${INFERGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/infergate}
ETCD_BIN=$CACHE/etcd/$ETCD_VERSION/bin
K8S_BIN=$CACHE/k8s/$KUBERNETES_VERSION/bin
HELM_BIN=$CACHE/helm/$HELM_VERSION/bin
# The CRD modules get a module cache of their own inside ours, so their paths are known without running go.
CRD_MODCACHE=$CACHE/gomod
GATEWAY_API_DIR=$CRD_MODCACHE/sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION
GIE_DIR=$CRD_MODCACHE/sigs.k8s.io/gateway-api-inference-extension@$INFERENCE_EXTENSION_VERSION
GATEWAY_API_CRDS=$GATEWAY_API_DIR/config/crd/standard
GIE_CRDS=$GIE_DIR/config/crd/bases

# binary_ok PATH VERSION: the binary exists and says it is VERSION (a half-written or stale one does not).
binary_ok() {
  local bin=$1 want=${2#v} out
  [[ -x $bin ]] || return 1
  case $(basename "$bin") in
    etcd) out=$("$bin" --version 2>/dev/null) ;;
    etcdctl) out=$("$bin" version 2>/dev/null) ;;
    kubectl) out=$("$bin" version --client 2>/dev/null) ;;
    helm) out=$("$bin" version --short 2>/dev/null) ;;
    *) out=$("$bin" --version 2>/dev/null) ;;
  esac
  grep -qE "(^|[^0-9.])v?${want//./\\.}([^0-9.]|$)" <<<"$out"
}
