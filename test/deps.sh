#!/usr/bin/env bash
# Installs what Vigil's build and tests need on a Debian/Ubuntu machine: the
# BPF toolchain (only `make generate` needs it) and the real services the tests
# start (containerd, runc). Idempotent; needs root for apt.
set -euo pipefail

pkgs=(clang llvm libbpf-dev bpftool make git containerd runc)
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
echo "deps: ok"
