// Package probe loads Vigil's kernel probe (bpf/), attaches it to the
// syscall and process-lifecycle tracepoints, keeps the kernel's set of
// recorded syscalls, and reads its ring buffer into a bounded queue. Records
// leave this package as raw bytes; pkg/event decodes them.
//
// Typical use:
//
//	p, err := probe.Open(probe.DefaultConfig(), log)
//	defer p.Close()
//	p.SetEventTypes(types)
//	p.Run(ctx, func(rec []byte) { ... })
package probe
