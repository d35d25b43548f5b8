#!/usr/bin/env bash
# make cluster-tools: builds the pinned etcd, Kubernetes control plane, kubectl and Helm from the Go module proxy and
# fetches the upstream CRD modules, all into the per-machine cache (scripts/cluster-env.sh). Seconds when cached.
set -euo pipefail
source "$(dirname "$0")/cluster-env.sh"

say() { printf 'cluster-tools: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
command -v go >/dev/null || die "go not found on PATH (needed to build from the module proxy)"
# Others share the cores: build at the lowest priority; GOFLAGS (e.g. -p=1) is honoured as given.
GO=(nice -n "${CLUSTER_TOOLS_NICE:-19}" env CGO_ENABLED=0 GOTOOLCHAIN=local go)


# install_from TMPDIR DEST NAME...: check each fresh binary's version, then rename it into place (atomic: same fs).
install_from() {
  local tmp=$1 dest=$2 ver=$3 name
  shift 3
  mkdir -p "$dest"
  for name in "$@"; do
    binary_ok "$tmp/$name" "$ver" || die "$name built but does not report $ver"
    mv -f "$tmp/$name" "$dest/$name"
  done
}

timed() {
  local start=$SECONDS
  "$@"
  say "  done in $((SECONDS - start)) s"
}

build_etcd() {
  local src=$CACHE/etcd/$ETCD_VERSION/src tmp
  if [[ ! -f $src/go.sum ]]; then
    tmp=$(mktemp -d "$CACHE/etcd/.src.XXXXXX")
    cat >"$tmp/go.mod" <<MOD
module infergate.local/etcd

go 1.26.0

tool go.etcd.io/etcd/etcdctl/v3

require (
	go.etcd.io/etcd/etcdctl/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)
MOD
    printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' >"$tmp/main.go"
    (cd "$tmp" && "${GO[@]}" mod tidy) || die "go mod tidy failed for the etcd wrapper module"
    rm -rf "$src" && mv "$tmp" "$src"
  fi
  tmp=$(mktemp -d "$CACHE/etcd/.bin.XXXXXX")
  (cd "$src" && "${GO[@]}" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" . &&
    "${GO[@]}" build -trimpath -ldflags "-s -w" -o "$tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3) || die "etcd build failed"
  install_from "$tmp" "$ETCD_BIN" "$ETCD_VERSION" etcd etcdctl
  rm -rf "$tmp"
}

# kubernetes' go.mod replaces its 33 staging modules with ./staging/src/…, which the module zip lacks: a wrapper
# module requires k8s.io/kubernetes and replaces each staging module with its published version instead.
k8s_wrapper() {
  local src=$CACHE/k8s/$KUBERNETES_VERSION/src tmp gomod
  [[ -f $src/go.sum ]] && return 0
  say "  resolving modules for the Kubernetes wrapper module"
  mkdir -p "$CACHE/k8s/$KUBERNETES_VERSION"
  tmp=$(mktemp -d "$CACHE/k8s/$KUBERNETES_VERSION/.src.XXXXXX")
  gomod=$(cd "$tmp" && "${GO[@]}" list -m -f '{{.GoMod}}' "k8s.io/kubernetes@$KUBERNETES_VERSION") ||
    die "cannot fetch k8s.io/kubernetes@$KUBERNETES_VERSION's go.mod"
  {
    printf 'module infergate.local/k8s\n\ngo 1.26.0\n\ntool (\n'
    printf '\tk8s.io/kubernetes/cmd/%s\n' kube-apiserver kube-controller-manager kube-scheduler kubectl
    printf ')\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    # "k8s.io/api => ./staging/src/k8s.io/api" becomes "k8s.io/api => k8s.io/api v0.37.2".
    sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\t\1 => \1 '"$KUBERNETES_STAGING_VERSION"'#p' "$gomod"
    printf ')\n'
  } >"$tmp/go.mod"
  local n
  n=$(grep -c '=> k8s.io/' "$tmp/go.mod")
  [[ $n -ge 30 ]] || die "expected ~33 staging replaces in $gomod, found $n"
  say "  $n staging modules replaced with $KUBERNETES_STAGING_VERSION"
  (cd "$tmp" && "${GO[@]}" mod tidy) || die "go mod tidy failed for the Kubernetes wrapper module"
  rm -rf "$src" && mv "$tmp" "$src"
}

build_k8s() {
  local src=$CACHE/k8s/$KUBERNETES_VERSION/src tmp pkgs=() name v=$KUBERNETES_VERSION minor
  k8s_wrapper
  for name in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$name"); done
  minor=${v#v*.}
  minor=${minor%%.*}
  local x='-X k8s.io/component-base/version' y='-X k8s.io/client-go/pkg/version' ld='-s -w' date
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  for p in "$x" "$y"; do
    ld+=" $p.gitVersion=$v $p.gitMajor=1 $p.gitMinor=$minor $p.gitTreeState=clean $p.buildDate=$date"
  done
  tmp=$(mktemp -d "$CACHE/k8s/$KUBERNETES_VERSION/.bin.XXXXXX")
  # One go build for all of them shares the compiled packages; providerless drops the cloud providers.
  (cd "$src" && "${GO[@]}" build -trimpath -tags providerless -ldflags "$ld" -o "$tmp/" "${pkgs[@]}") ||
    die "Kubernetes build failed"
  install_from "$tmp" "$K8S_BIN" "$v" "$@"
  rm -rf "$tmp"
}

build_helm() {
  local tmp
  mkdir -p "$CACHE/helm/$HELM_VERSION"
  tmp=$(mktemp -d "$CACHE/helm/$HELM_VERSION/.bin.XXXXXX")
  (cd "$tmp" && GOBIN=$tmp "${GO[@]}" install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") ||
    die "helm build failed"
  install_from "$tmp" "$HELM_BIN" "$HELM_VERSION" helm
  rm -rf "$tmp"
}

# download_module PATH VERSION DIR: fetch a module zip through the proxy into our CRD module cache.
download_module() {
  local dir=$3
  [[ -d $dir/config/crd ]] && return 0
  say "fetching $1@$2"
  mkdir -p "$CRD_MODCACHE"
  (cd "$CRD_MODCACHE" && GOMODCACHE=$CRD_MODCACHE GOFLAGS=-modcacherw GO111MODULE=on GOTOOLCHAIN=local \
    go mod download -json "$1@$2" >/dev/null) || die "go mod download $1@$2 failed"
  [[ -d $dir/config/crd ]] || die "$1@$2 has no config/crd directory"
}

# --check: exit 0 when everything is cached, else name what is missing (jest skips the cluster suites on that).
check() {
  local bad=() b
  for b in "$ETCD_BIN/etcd" "$ETCD_BIN/etcdctl"; do binary_ok "$b" "$ETCD_VERSION" || bad+=("$b"); done
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    binary_ok "$K8S_BIN/$b" "$KUBERNETES_VERSION" || bad+=("$K8S_BIN/$b")
  done
  binary_ok "$HELM_BIN/helm" "$HELM_VERSION" || bad+=("$HELM_BIN/helm")
  [[ -d $GATEWAY_API_CRDS ]] || bad+=("$GATEWAY_API_CRDS")
  [[ -d $GIE_CRDS ]] || bad+=("$GIE_CRDS")
  [[ ${#bad[@]} -eq 0 ]] && return 0
  echo "missing (run make cluster-tools): ${bad[*]}"
  return 1
}

main() {
  local missing start=$SECONDS
  mkdir -p "$CACHE"
  # Two concurrent runs (two clones, make -j) would build the same thing twice: the second waits.
  exec 9>"$CACHE/.cluster-tools.lock"
  flock 9 || die "cannot lock $CACHE"
  # Temp dirs of an interrupted run (only ever renamed into place when complete): safe to drop under the lock.
  rm -rf "$CACHE"/*/*/.bin.* "$CACHE"/*/*/.src.*
  if binary_ok "$ETCD_BIN/etcd" "$ETCD_VERSION" && binary_ok "$ETCD_BIN/etcdctl" "$ETCD_VERSION"; then
    say "etcd $ETCD_VERSION cached"
  else
    say "building etcd + etcdctl $ETCD_VERSION (cold: ~1-2 min)"
    mkdir -p "$CACHE/etcd/$ETCD_VERSION"
    timed build_etcd
  fi
  if binary_ok "$HELM_BIN/helm" "$HELM_VERSION"; then
    say "helm $HELM_VERSION cached"
  else
    say "building helm $HELM_VERSION (cold: ~3 min)"
    timed build_helm
  fi
  missing=()
  for b in kubectl kube-scheduler kube-controller-manager kube-apiserver; do
    binary_ok "$K8S_BIN/$b" "$KUBERNETES_VERSION" || missing+=("$b")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    say "kubernetes $KUBERNETES_VERSION cached"
  else
    say "building ${missing[*]} $KUBERNETES_VERSION (cold: ~25 min on 2 busy cores; warm Go cache: a link step)"
    timed build_k8s "${missing[@]}"
  fi
  download_module sigs.k8s.io/gateway-api "$GATEWAY_API_VERSION" "$GATEWAY_API_DIR"
  download_module sigs.k8s.io/gateway-api-inference-extension "$INFERENCE_EXTENSION_VERSION" "$GIE_DIR"
  say "ready in $((SECONDS - start)) s: $ETCD_BIN $K8S_BIN $HELM_BIN; CRDs $GATEWAY_API_CRDS $GIE_CRDS"
}

if [[ ${1:-} == --check ]]; then
  check
  exit
fi
main "$@"
