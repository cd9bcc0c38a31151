#!/usr/bin/env bash
# Installs what Vigil's build and tests need on a Debian/Ubuntu machine: the
# BPF toolchain (only `make generate` needs it) and the real services the tests
# start (containerd, runc). Idempotent; needs root for apt.
set -euo pipefail

# containernetworking-plugins and busybox-static: the test cluster's pod
# network and its workload image (test/cluster).
pkgs=(clang llvm libbpf-dev bpftool make git containerd runc containernetworking-plugins busybox-static)
# The end-to-end tests run a real ssh client, put an address in a network
# namespace (ip, unshare) and start a shell on a terminal (script).
pkgs+=(openssh-client iproute2 util-linux bsdutils)
# The kernel matrix (test/kernels): qemu boots Debian's kernels; cpio checks
# the initramfs writer.
pkgs+=(qemu-system-x86 qemu-system-arm cpio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${missing[*]}; run as root (sudo make deps)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
go mod download
# kube-apiserver and etcd for the enrichment tests, built once into a cache
# outside the repository (minutes on a cold Go build cache).
if [ "${VIGIL_SKIP_K8S_BINS:-}" != 1 ]; then
  "$(dirname "$0")/k8s-bins.sh" >/dev/null
  # kubelet, controller-manager, scheduler and kubectl for the cluster test.
  "$(dirname "$0")/cluster/k8s-node-bins.sh" >/dev/null
fi
# Chart tests (test/deploy): helm and kubeconform as Go tools in GOPATH/bin,
# and the modules that ship the Kubernetes OpenAPI spec and the
# prometheus-operator CRDs, from which the tests generate kubeconform's
# schemas offline.
gobin="$(go env GOPATH)/bin"
[ -x "$gobin/helm" ] || go install helm.sh/helm/v3/cmd/helm@v3.22.0
[ -x "$gobin/kubeconform" ] || go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0
go mod download k8s.io/kubernetes@v1.37.2 github.com/prometheus-operator/prometheus-operator@v0.85.0
echo "deps: ok"
