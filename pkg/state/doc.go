// Package state keeps what the agent knows about the processes of the node:
// a process table (thread-group id → process, with parent links for
// ancestry), a file-descriptor table per process (files, directories and
// sockets with their endpoints) and each process's working directory.
//
// The table is seeded once from /proc (ScanProc, Seed) and then kept current
// by the events of the kernel probes (Apply): fork, exec, exit, open, close,
// dup, socket, connect, accept, bind, chdir. Apply also attaches the views
// rules read to each event (Event.Proc, Event.FD) and makes the event's
// relative paths absolute.
//
// Concurrency: a Table is owned by the pipeline's state stage and must be
// used from one goroutine only (Apply, Seed, Reap, Stats and the lookups are
// not synchronised). The views it attaches are live pointers into the table:
// they describe the process and fd as of the latest applied event, so a stage
// that holds an event while later events are applied must copy what it needs.
// Users is the exception: it is safe for concurrent use.
//
// Memory is bounded: exited processes stay for a grace period, so that the
// ancestry of their children stays complete, and are then reaped; the table
// has a maximum size (oldest exited, then least recently seen processes are
// evicted first, and evictions are counted) and a maximum number of fds per
// process.
package state
