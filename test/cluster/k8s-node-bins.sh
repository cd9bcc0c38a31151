#!/usr/bin/env bash
# Builds the node and control-plane components that test/k8s-bins.sh does not
# (kubelet, kube-controller-manager, kube-scheduler, kubectl) from the Go module
# proxy into the same cache, next to kube-apiserver and etcd, and prints the
# directory. A second run reuses the binaries.
#
#   KUBE_VERSION     k8s.io/kubernetes version (default v1.37.2)
#   VIGIL_K8S_CACHE  cache root                (default /var/cache/vigil/k8s-bin)
#
# Same method as test/k8s-bins.sh: a throw-away wrapper module requires
# k8s.io/kubernetes and replaces its k8s.io/* staging modules (v0.0.0 there) by
# their published v0.<minor>.<patch> releases; the version ldflags are set so
# that kubectl and the kubelet report a parseable version.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
CACHE=${VIGIL_K8S_CACHE:-/var/cache/vigil/k8s-bin}
OUT="$CACHE/kube-node-$KUBE_VERSION"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
CMDS=(kubelet kube-controller-manager kube-scheduler kubectl)

missing=()
for c in "${CMDS[@]}"; do [ -x "$OUT/$c" ] || missing+=("$c"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$OUT"
  exit 0
fi

mkdir -p "$OUT" "$CACHE/src"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
src="$CACHE/src/kube-node-$KUBE_VERSION"
mkdir -p "$src"
cd "$src"
modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
{
  echo "module vigil.local/k8snodebins"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print "\t" $1 " => " $1 " '"$STAGING_VERSION"'"}' "$modfile" | sort -u
  echo ")"
} > go.mod
{
  echo "//go:build tools"
  echo
  echo "package k8snodebins"
  echo
  echo "import ("
  for c in "${missing[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"
} > tools.go
go mod tidy >/dev/null 2>&1 || true
pkgs=()
for c in "${missing[@]}"; do
  go get "k8s.io/kubernetes/cmd/$c@$KUBE_VERSION" >/dev/null
  pkgs+=("k8s.io/kubernetes/cmd/$c")
done
minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
v=k8s.io/component-base/version
tmp=$(mktemp -d "$OUT/.build.XXXXXX")
nice -n 19 go build -trimpath \
  -ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
  -o "$tmp/" "${pkgs[@]}"
for c in "${missing[@]}"; do mv "$tmp/$c" "$OUT/$c"; done
rmdir "$tmp"
echo "$OUT"
