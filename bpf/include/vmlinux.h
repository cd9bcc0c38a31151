/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Picks the kernel type definitions of the target architecture. Each
 * vmlinux_<arch>.h is a `bpftool btf dump ... format c` of a kernel of that
 * architecture; CO-RE relocations adapt field offsets to the running kernel.
 */
#ifndef VIGIL_VMLINUX_H
#define VIGIL_VMLINUX_H

#if defined(__TARGET_ARCH_x86)
#include "vmlinux_x86.h"
#elif defined(__TARGET_ARCH_arm64)
#include "vmlinux_arm64.h"
#else
#error "unsupported target architecture: build with bpf2go -target amd64 or arm64"
#endif

#endif
