#!/usr/bin/env bash
# Writes a vmlinux.h for ARCH from the BTF inside one of the matrix's Debian
# kernels (fetched by fetch.sh): the arm64 vmlinuz is a raw Image holding
# .BTF uncompressed, so the blob is cut out at its header (magic 0xeB9F,
# little-endian, 24-byte header) and dumped with bpftool. For an x86 bzImage,
# which is compressed, dump /sys/kernel/btf/vmlinux of a running kernel
# instead.
#
# Usage: vmlinux-h.sh ARCH SERIES OUT.h   (e.g. arm64 6.1 bpf/include/vmlinux_arm64.h)
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 ARCH SERIES OUT.h" >&2; exit 2; }
arch=$1 series=$2 out=$3
img=$(VIGIL_KERNEL_SERIES="$series" "$(dirname "$0")/fetch.sh" "$arch" | awk -v a="$arch" -v s="$series" '$1 == "kernel" && $2 == a && $3 == s {print $6}')
[ -n "$img" ] || { echo "vmlinux-h: no $arch $series kernel fetched" >&2; exit 1; }
# The first header whose hdr_len is 24 and whose type section starts at 0.
off=$(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00\x00\x00\x00\x00' "$img" | head -1 | cut -d: -f1)
[ -n "$off" ] || { echo "vmlinux-h: no BTF blob in $img (compressed image?)" >&2; exit 1; }
read -r hdr_len _ type_len str_off str_len < <(od -An -w20 -t u4 -j $((off + 4)) -N 20 "$img")
[ "$str_off" = "$type_len" ] || { echo "vmlinux-h: implausible BTF header at $off" >&2; exit 1; }
blob=$(mktemp)
trap 'rm -f "$blob"' EXIT
dd if="$img" of="$blob" iflag=skip_bytes,count_bytes skip="$off" count=$((hdr_len + str_off + str_len)) status=none
bpftool btf dump file "$blob" format c >"$out"
echo "vmlinux-h: $out from $(sed -n 's/^/ /p' "$(dirname "$img")/package") ($((hdr_len + str_off + str_len)) bytes of BTF at offset $off)" >&2
