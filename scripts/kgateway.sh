#!/usr/bin/env bash
# scripts/kgateway.sh build|--check|path: the kgateway controller (KGATEWAY_VERSION in versions.env), built from the
# Go module proxy into the per-machine cache next to the cluster tools (scripts/cluster-env.sh), keyed by version.
#   build    build it unless cached (cold: 541 s and ~3 GB of Go build cache on 2 busy cores, one run; cached: 0.2 s)
#   --check  exit 0 when the binary and the module source (its CRDs) are cached, else say what is missing
#   path     print four lines: the binary, the module source (its CRDs: install/helm/kgateway-crds/templates), the
#            Gateway API module kgateway's go.mod requires, and the test cluster's Gateway API module (cluster-env.sh)
set -euo pipefail
source "$(dirname "$0")/cluster-env.sh"

MODULE=github.com/kgateway-dev/kgateway/v2
KGW_DIR=$CACHE/kgateway/$KGATEWAY_VERSION
KGW_BIN=$KGW_DIR/bin/kgateway
# The module's own source, as the proxy serves it (read-only copy in our module cache: CRDs and the build root).
KGW_SRC=$CRD_MODCACHE/$MODULE@$KGATEWAY_VERSION

# The Gateway API version kgateway was built against (v1.4.1 for v2.2.0): its CRDs are the ones its types expect.
gwapi_version() {
  [[ -f $KGW_SRC/go.mod ]] && sed -n 's#^[[:space:]]*sigs\.k8s\.io/gateway-api \(v[^ ]*\).*#\1#p' "$KGW_SRC/go.mod" | head -1
}
gwapi_dir() { echo "$CRD_MODCACHE/sigs.k8s.io/gateway-api@$(gwapi_version)"; }

# fetch_module PATH VERSION: the module zip through the proxy into our CRD module cache (read-only files).
fetch_module() {
  say "fetching $1@$2"
  mkdir -p "$CRD_MODCACHE"
  (cd "$CRD_MODCACHE" && GOMODCACHE=$CRD_MODCACHE GOFLAGS=-modcacherw GO111MODULE=on GOTOOLCHAIN=local \
    go mod download -json "$1@$2" >/dev/null) || die "go mod download $1@$2 failed"
}

say() { printf 'kgateway: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# Built from a copy, the main module reads "(devel)": the version goes in with kgateway's own -X pkg/version.Version
# ldflag (as its Makefile does) and `kgateway --version` must report it, so a half-written or other binary fails.
VERSION_LDFLAG="-X $MODULE/pkg/version.Version=$KGATEWAY_VERSION"
cached() {
  [[ -x $KGW_BIN && -d $KGW_SRC/install/helm && -n $(gwapi_version) && -d $(gwapi_dir)/config/crd/experimental ]] ||
    return 1
  "$KGW_BIN" --version 2>/dev/null | grep -qF "\"version\":\"$KGATEWAY_VERSION\""
}

build() {
  command -v go >/dev/null || die "go not found on PATH (needed to build from the module proxy)"
  mkdir -p "$KGW_DIR"
  exec 9>"$KGW_DIR/.lock"
  flock 9 || die "cannot lock $KGW_DIR"
  if cached; then
    say "$KGATEWAY_VERSION cached: $KGW_BIN"
    return 0
  fi
  # Temporaries one level below cluster-tools.sh's sweep of $CACHE/*/*/.src.* (it would delete them mid-build).
  rm -rf "$KGW_DIR"/.bin.* "$KGW_DIR"/.src.* "$KGW_DIR/.work"
  mkdir -p "$KGW_DIR/.work"
  local start=$SECONDS tmp src
  [[ -d $KGW_SRC/install/helm ]] || fetch_module "$MODULE" "$KGATEWAY_VERSION"
  [[ -n $(gwapi_version) ]] || die "$KGW_SRC/go.mod requires no sigs.k8s.io/gateway-api"
  [[ -d $(gwapi_dir)/config/crd/experimental ]] || fetch_module sigs.k8s.io/gateway-api "$(gwapi_version)"
  if [[ -x $KGW_BIN ]] && cached; then
    say "$KGATEWAY_VERSION cached: $KGW_BIN"
    return 0
  fi
  # The module zip is read-only and its go.sum may not cover every tool: build from a writable copy with -mod=mod.
  src=$(mktemp -d "$KGW_DIR/.work/src.XXXXXX")
  cp -R "$KGW_SRC/." "$src/" && chmod -R u+w "$src"
  tmp=$(mktemp -d "$KGW_DIR/.work/bin.XXXXXX")
  say "building $MODULE/cmd/kgateway $KGATEWAY_VERSION (cold: 541 s in one run, ~3 GB Go build cache; warm: a link step, 24 s)"
  (cd "$src" && nice -n "${CLUSTER_TOOLS_NICE:-19}" env CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod \
    go build -trimpath -ldflags "$VERSION_LDFLAG -s -w" -o "$tmp/kgateway" ./cmd/kgateway) || die "kgateway build failed"
  mkdir -p "$KGW_DIR/bin"
  mv -f "$tmp/kgateway" "$KGW_BIN"
  rm -rf "$tmp" "$src"
  cached || die "built $KGW_BIN but it does not report $MODULE $KGATEWAY_VERSION"
  say "built in $((SECONDS - start)) s: $KGW_BIN"
}

case ${1:-} in
  build) build ;;
  --check)
    cached && exit 0
    echo "missing (run scripts/kgateway.sh build, ~13 min cold): $KGW_BIN"
    exit 1
    ;;
  path) printf '%s\n%s\n%s\n%s\n' "$KGW_BIN" "$KGW_SRC" "$(gwapi_dir)" "$GATEWAY_API_DIR" ;;
  *) die "usage: $0 build|--check|path" ;;
esac
