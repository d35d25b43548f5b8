#!/usr/bin/env bash
# scripts/peers.sh build|--check|path: the two peer EPPs that `infergate bench peers` runs next to infergate's, built
# from the Go module proxy into the per-machine cache next to the cluster tools (scripts/cluster-env.sh), keyed by
# version: the upstream Gateway API Inference Extension EPP (PEER_GIE_VERSION, ./cmd/epp) and the llm-d inference
# scheduler's EPP (PEER_LLMD_VERSION, ./cmd/epp). Facts: ../shared/reference/peers-on-this-machine.md (beside the clone).
#   build    build both unless cached, printing each cold build time (cold: ~7 min + ~2-3 min on 2 busy cores)
#   --check  exit 0 when both binaries are there and the stamp names the pinned versions, else say what is missing
#   path     print two lines: the GIE EPP binary and the llm-d EPP binary
set -euo pipefail
source "$(dirname "$0")/cluster-env.sh"

GIE_MODULE=sigs.k8s.io/gateway-api-inference-extension
LLMD_MODULE=github.com/llm-d/llm-d-inference-scheduler
# llm-d's go.mod requires github.com/llm-d/llm-d-kv-cache, whose zip the proxy refuses; the same code is served under
# the module's old name llm-d-kv-cache-manager (same version, no cgo): a directory replace points at it.
KVC_OLD_MODULE=github.com/llm-d/llm-d-kv-cache-manager
KVC_MODULE=github.com/llm-d/llm-d-kv-cache
GIE_V=$PEER_GIE_VERSION
LLMD_V=$PEER_LLMD_VERSION
OUT=$CACHE/peers
GIE_BIN=$OUT/gie/$GIE_V/bin/epp
LLMD_BIN=$OUT/llm-d/$LLMD_V/bin/epp
GIE_SRC=$CRD_MODCACHE/$GIE_MODULE@$GIE_V
LLMD_SRC=$CRD_MODCACHE/$LLMD_MODULE@$LLMD_V

say() { printf 'peers: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The kv-cache version llm-d's go.mod requires (v0.7.1 for v0.7.1).
kvc_version() {
  [[ -f $LLMD_SRC/go.mod ]] && sed -n "s#^[[:space:]]*${KVC_MODULE//./\\.} \(v[^ ]*\).*#\1#p" "$LLMD_SRC/go.mod" | head -1
}

# stamp DIR: what a complete build in DIR records (module@version of the main package); checked byte for byte.
stamp_ok() { [[ -f $1/.stamp && $(<"$1/.stamp") == "$2" ]]; }
gie_stamp() { printf '%s@%s/cmd/epp\n' "$GIE_MODULE" "$GIE_V"; }
llmd_stamp() { printf '%s@%s/cmd/epp\n' "$LLMD_MODULE" "$LLMD_V"; }
gie_cached() { [[ -x $GIE_BIN ]] && stamp_ok "$(dirname "$GIE_BIN")" "$(gie_stamp)"; }
llmd_cached() { [[ -x $LLMD_BIN ]] && stamp_ok "$(dirname "$LLMD_BIN")" "$(llmd_stamp)"; }

# fetch_module PATH VERSION: the module zip through the proxy into the shared CRD module cache (read-only files).
fetch_module() {
  say "fetching $1@$2"
  mkdir -p "$CRD_MODCACHE"
  (cd "$CRD_MODCACHE" && GOMODCACHE=$CRD_MODCACHE GOFLAGS=-modcacherw GO111MODULE=on GOTOOLCHAIN=local \
    go mod download -json "$1@$2" >/dev/null) || die "go mod download $1@$2 failed"
}

GO=(nice -n "${CLUSTER_TOOLS_NICE:-19}" env CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod go)

# build_one NAME DIR SRC STAMP [setup-fn]: copy SRC to a writable temp under DIR/.work, run setup in it, build
# ./cmd/epp, check the embedded module path, and move the binary into DIR/bin under DIR's lock.
build_one() {
  local name=$1 dir=$2 src=$3 stamp=$4 setup=${5:-} module=$6 ldflags=${7:-}
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9 || die "cannot lock $dir"
  if [[ -x $dir/bin/epp ]] && stamp_ok "$dir/bin" "$stamp"; then
    say "$name cached: $dir/bin/epp"
    exec 9>&-
    return 0
  fi
  # Temporaries of an interrupted run (only ever renamed into place when complete): safe to drop under the lock. They
  # sit below cluster-tools.sh's sweep of $CACHE/*/*/.src.* (which would delete them mid-build).
  rm -rf "$dir/.work"
  mkdir -p "$dir/.work"
  local work tmp t=$SECONDS
  work=$(mktemp -d "$dir/.work/src.XXXXXX")
  cp -R "$src/." "$work/" && chmod -R u+w "$work"
  # Module zips may carry a go.work naming folders they lack: GOWORK=off (in GO) ignores it; drop it as well.
  rm -f "$work/go.work" "$work/go.work.sum"
  [[ -z $setup ]] || (cd "$work" && "$setup") || die "$name: preparing the source failed"
  tmp=$(mktemp -d "$dir/.work/bin.XXXXXX")
  say "building $name ./cmd/epp (cold: minutes on 2 busy cores; warm Go build cache: a link step)"
  (cd "$work" && "${GO[@]}" build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/epp" ./cmd/epp) || die "$name build failed"
  go version -m "$tmp/epp" | grep -qE "^[[:space:]]+path[[:space:]]+${module//./\\.}/cmd/epp$" ||
    die "$name: the binary does not embed $module/cmd/epp"
  mkdir -p "$dir/bin"
  rm -f "$dir/bin/.stamp"
  mv -f "$tmp/epp" "$dir/bin/epp"
  printf '%s\n' "$stamp" >"$dir/bin/.stamp"
  rm -rf "$dir/.work"
  say "$name built in $((SECONDS - t)) s: $dir/bin/epp"
  exec 9>&-
}

llmd_setup() {
  local kv
  kv=$(kvc_version)
  [[ -n $kv ]] || die "$LLMD_SRC/go.mod requires no $KVC_MODULE"
  [[ -f $CRD_MODCACHE/$KVC_OLD_MODULE@$kv/go.mod ]] || fetch_module "$KVC_OLD_MODULE" "$kv"
  GOTOOLCHAIN=local GOWORK=off go mod edit -replace "$KVC_MODULE=$CRD_MODCACHE/$KVC_OLD_MODULE@$kv"
}

build() {
  command -v go >/dev/null || die "go not found on PATH (needed to build from the module proxy)"
  local start=$SECONDS
  [[ -f $GIE_SRC/go.mod ]] || fetch_module "$GIE_MODULE" "$GIE_V"
  [[ -f $LLMD_SRC/go.mod ]] || fetch_module "$LLMD_MODULE" "$LLMD_V"
  # The same -X flags as upstream's Dockerfile (BuildRef is the tag in their release builds).
  build_one "$GIE_MODULE@$GIE_V" "$OUT/gie/$GIE_V" "$GIE_SRC" "$(gie_stamp)" "" "$GIE_MODULE" \
    "-X $GIE_MODULE/version.BuildRef=$GIE_V -X $GIE_MODULE/version.CommitSHA=$GIE_V"
  build_one "$LLMD_MODULE@$LLMD_V" "$OUT/llm-d/$LLMD_V" "$LLMD_SRC" "$(llmd_stamp)" llmd_setup "$LLMD_MODULE"
  gie_cached && llmd_cached || die "built but the result does not check"
  say "ready in $((SECONDS - start)) s: $GIE_BIN $LLMD_BIN"
}

case ${1:-} in
  build) build ;;
  --check)
    gie_cached && llmd_cached && exit 0
    echo "missing (run scripts/peers.sh build, ~10 min cold): $GIE_BIN ($GIE_V) and/or $LLMD_BIN ($LLMD_V)"
    exit 1
    ;;
  path) printf '%s\n%s\n' "$GIE_BIN" "$LLMD_BIN" ;;
  *) die "usage: $0 build|--check|path" ;;
esac
