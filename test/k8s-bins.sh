#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy into a cache outside
# the repository and prints the directory that holds them. A second run reuses
# the binaries. The tests find them through VIGIL_K8S_BIN (default: the cache
# directory below).
#
#   KUBE_VERSION  k8s.io/kubernetes version   (default v1.37.2)
#   ETCD_VERSION  go.etcd.io/etcd/server/v3    (default v3.7.3)
#   VIGIL_K8S_CACHE  cache root                (default /var/cache/vigil/k8s-bin)
#
# kube-apiserver comes from a throw-away wrapper module that requires
# k8s.io/kubernetes and replaces its k8s.io/* staging modules (required there
# as v0.0.0) by their published v0.<minor>.<patch> releases; etcd from a
# wrapper whose main calls etcdmain.Main.
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
CACHE=${VIGIL_K8S_CACHE:-/var/cache/vigil/k8s-bin}
OUT="$CACHE/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"

if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$OUT" "$CACHE/src"
export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
build() { nice -n 19 go build -trimpath "$@"; }

if [ ! -x "$OUT/kube-apiserver" ]; then
  src="$CACHE/src/kube-$KUBE_VERSION"
  mkdir -p "$src"
  cd "$src"
  modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  {
    echo "module vigil.local/k8sbins"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print "\t" $1 " => " $1 " '"$STAGING_VERSION"'"}' "$modfile" | sort -u
    echo ")"
  } > go.mod
  cat > tools.go <<'GO'
//go:build tools

package k8sbins

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  go mod tidy >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" >/dev/null
  minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  v=k8s.io/component-base/version
  build -ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
    -o "$OUT/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver"
fi

if [ ! -x "$OUT/etcd" ]; then
  src="$CACHE/src/etcd-$ETCD_VERSION"
  mkdir -p "$src"
  cd "$src"
  cat > go.mod <<GOMOD
module vigil.local/etcdbin

go $(go env GOVERSION | sed 's/^go//; s/\([0-9]*\.[0-9]*\).*/\1/')

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat > main.go <<'GO'
// Command etcd runs the etcd server from its published module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go mod tidy >/dev/null
  build -ldflags='-s -w' -o "$OUT/etcd.tmp" .
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi
echo "$OUT"
