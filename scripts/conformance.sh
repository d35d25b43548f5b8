#!/usr/bin/env bash
# scripts/conformance.sh build|--check|path: the upstream Gateway API Inference Extension conformance suite
# (GIE_CONFORMANCE_VERSION in versions.env) as a test binary, plus the two programs its fixture images run (lwepp, the
# suite's stand-in EPP, and echo-basic, its stand-in model server), built from the Go module proxy into the per-machine
# cache next to the cluster tools (scripts/cluster-env.sh), keyed by version. Details and measured times: conformance/BUILD.md.
#   build    build them unless cached (cold build cache: ~3 min and ~1 GB of it on 2 busy cores; cached: 0.02 s)
#   --check  exit 0 when all three binaries are there and the stamp names the pinned versions, else say what is missing
#   path     print five lines: conformance.test, lwepp, echo-basic, the suite's module source (resources/, tests/), and
#            the Gateway API module the suite requires (its config/crd: the CRD bundle-version the suite insists on)
set -euo pipefail
source "$(dirname "$0")/cluster-env.sh"

GIE_MODULE=sigs.k8s.io/gateway-api-inference-extension
SUITE_MODULE=$GIE_MODULE/conformance
V=$GIE_CONFORMANCE_VERSION
OUT=$CACHE/conformance/$V
BIN=$OUT/bin
STAMP=$BIN/.stamp
WORK=$OUT/.work
# Read-only module sources as the proxy serves them, in the same module cache as the CRD modules.
SUITE_SRC=$CRD_MODCACHE/$SUITE_MODULE@$V
GIE_SRC=$CRD_MODCACHE/$GIE_MODULE@$V

say() { printf 'conformance: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# The Gateway API conformance module the suite requires (v1.6.1 for v1.6.0): echo-basic comes from it.
gwapi_conformance_version() {
  [[ -f $SUITE_SRC/go.mod ]] &&
    sed -n 's#^[[:space:]]*sigs\.k8s\.io/gateway-api/conformance \(v[^ ]*\).*#\1#p' "$SUITE_SRC/go.mod" | head -1
}

# The Gateway API module the suite requires (v1.6.1): the suite refuses CRDs whose bundle-version differs (unless
# -allow-crds-mismatch), so a cluster for it installs this module's config/crd, not GATEWAY_API_VERSION's.
gwapi_version() {
  [[ -f $SUITE_SRC/go.mod ]] && sed -n 's#^[[:space:]]*sigs\.k8s\.io/gateway-api \(v[^ ]*\).*#\1#p' "$SUITE_SRC/go.mod" | head -1
}
gwapi_dir() { echo "$CRD_MODCACHE/sigs.k8s.io/gateway-api@$(gwapi_version)"; }

# What a complete build records; --check compares it byte for byte.
stamp_text() {
  printf 'suite %s@%s\nlwepp %s@%s/cmd/lwepp\necho-basic sigs.k8s.io/gateway-api/conformance@%s/echo-basic\n' \
    "$SUITE_MODULE" "$V" "$GIE_MODULE" "$V" "$(gwapi_conformance_version)"
}

cached() {
  [[ -x $BIN/conformance.test && -x $BIN/lwepp && -x $BIN/echo-basic && -f $STAMP && -f $SUITE_SRC/go.mod &&
    -n $(gwapi_version) && -d $(gwapi_dir)/config/crd/standard ]] ||
    return 1
  [[ $(<"$STAMP") == "$(stamp_text)" ]]
}

# fetch_module PATH VERSION: the module zip through the proxy into our module cache (read-only files).
fetch_module() {
  say "fetching $1@$2"
  mkdir -p "$CRD_MODCACHE"
  (cd "$CRD_MODCACHE" && GOMODCACHE=$CRD_MODCACHE GOFLAGS=-modcacherw GO111MODULE=on GOTOOLCHAIN=local \
    go mod download -json "$1@$2" >/dev/null) || die "go mod download $1@$2 failed"
}

build() {
  command -v go >/dev/null || die "go not found on PATH (needed to build from the module proxy)"
  mkdir -p "$OUT"
  exec 9>"$OUT/.lock"
  flock 9 || die "cannot lock $OUT"
  if cached; then
    say "$V cached: $BIN"
    return 0
  fi
  # Temp dirs of an interrupted run (only ever renamed into place when complete): safe to drop under the lock. They sit
  # one level deeper than cluster-tools.sh's sweep ($CACHE/*/*/.src.*), which would delete them under a running build.
  rm -rf "$WORK"
  mkdir -p "$WORK"
  local start=$SECONDS t src tmp
  [[ -f $SUITE_SRC/go.mod ]] || fetch_module "$SUITE_MODULE" "$V"
  [[ -f $GIE_SRC/go.mod ]] || fetch_module "$GIE_MODULE" "$V"
  [[ -n $(gwapi_version) ]] || die "$SUITE_SRC/go.mod requires no sigs.k8s.io/gateway-api"
  [[ -d $(gwapi_dir)/config/crd/standard ]] || fetch_module sigs.k8s.io/gateway-api "$(gwapi_version)"
  [[ -n $(gwapi_conformance_version) ]] || die "$SUITE_SRC/go.mod requires no sigs.k8s.io/gateway-api/conformance"
  # The suite's go.mod has `replace sigs.k8s.io/gateway-api-inference-extension => ../`: lay the two zips out as the
  # repository does (main module, suite in conformance/), writable, so -mod=mod may complete go.sum.
  src=$(mktemp -d "$WORK/src.XXXXXX")
  cp -R "$GIE_SRC/." "$src/"
  rm -rf "$src/conformance"
  cp -R "$SUITE_SRC" "$src/conformance"
  chmod -R u+w "$src"
  tmp=$(mktemp -d "$WORK/bin.XXXXXX")
  local go=(nice -n "${CLUSTER_TOOLS_NICE:-19}" env CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=mod go)

  say "building $SUITE_MODULE@$V test binary"
  t=$SECONDS
  # No build tag: conformance_test.go has none (kgateway's -tags conformance is for its own tree).
  (cd "$src/conformance" && "${go[@]}" test -c -vet=off -trimpath -ldflags "-s -w" -o "$tmp/conformance.test" .) ||
    die "conformance test build failed"
  say "  done in $((SECONDS - t)) s"

  say "building $GIE_MODULE@$V/cmd/lwepp"
  t=$SECONDS
  # The same -X flags as upstream's lwepp.Dockerfile (BuildRef is the tag in their release builds).
  (cd "$src" && "${go[@]}" build -trimpath -o "$tmp/lwepp" \
    -ldflags "-s -w -X $GIE_MODULE/version.BuildRef=$V -X $GIE_MODULE/version.CommitSHA=$V" ./cmd/lwepp) ||
    die "lwepp build failed"
  say "  done in $((SECONDS - t)) s"

  # echo-basic is package main in the Gateway API conformance module, which the suite requires as an ordinary
  # dependency: building it inside the suite's module pins it to exactly the version (and go.sum) the suite uses.
  say "building sigs.k8s.io/gateway-api/conformance@$(gwapi_conformance_version)/echo-basic"
  t=$SECONDS
  (cd "$src/conformance" && "${go[@]}" build -trimpath -ldflags "-s -w" -o "$tmp/echo-basic" \
    sigs.k8s.io/gateway-api/conformance/echo-basic) || die "echo-basic build failed"
  say "  done in $((SECONDS - t)) s"

  # The binaries must say where they came from (go version -m reads the embedded build info; a test binary records
  # only its own module, a program built by package path records that package's module as "mod").
  local info
  info=$(go version -m "$tmp/echo-basic")
  grep -qE "(mod|dep)[[:space:]]+sigs\.k8s\.io/gateway-api/conformance[[:space:]]+$(gwapi_conformance_version)[[:space:]]" <<<"$info" ||
    die "echo-basic does not embed sigs.k8s.io/gateway-api/conformance $(gwapi_conformance_version)"
  info=$(go version -m "$tmp/conformance.test")
  grep -qF "$SUITE_MODULE" <<<"$info" || die "conformance.test does not embed $SUITE_MODULE"

  mkdir -p "$BIN"
  rm -f "$STAMP"
  mv -f "$tmp/conformance.test" "$tmp/lwepp" "$tmp/echo-basic" "$BIN/"
  stamp_text >"$STAMP"
  rm -rf "$WORK"
  cached || die "built into $BIN but the result does not check"
  say "built in $((SECONDS - start)) s: $BIN"
}

case ${1:-} in
  build) build ;;
  --check)
    cached && exit 0
    echo "missing (run scripts/conformance.sh build, ~3 min cold): $BIN/{conformance.test,lwepp,echo-basic} for $V"
    exit 1
    ;;
  path) printf '%s\n%s\n%s\n%s\n%s\n' "$BIN/conformance.test" "$BIN/lwepp" "$BIN/echo-basic" "$SUITE_SRC" "$(gwapi_dir)" ;;
  *) die "usage: $0 build|--check|path" ;;
esac
