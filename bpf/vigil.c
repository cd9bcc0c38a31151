// SPDX-License-Identifier: GPL-2.0
/*
 * Vigil's kernel probe: syscall and process-lifecycle tracepoints that write
 * one record per event to a ring buffer. Built for amd64 and arm64 by bpf2go
 * (pkg/probe/gen.go); one file per concern, included here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "record.h"
#include "maps.h"
#include "task.h"
#include "parts.h"
#include "path.h"
#include "prefilter.h"
#include "syscalls.h"
#include "process.h"

char LICENSE[] SEC("license") = "GPL";


/* Typed references so that the BTF, and so bpf2go's Go types, hold the
 * record layout that user space decodes. */
const struct record_header *record_header_type __attribute__((unused));
const struct exe_info *exe_info_type __attribute__((unused));
const struct pf_type *pf_type_type __attribute__((unused));
const struct pf_path_key *pf_path_key_type __attribute__((unused));
const struct pf_value_key *pf_value_key_type __attribute__((unused));
