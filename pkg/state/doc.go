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
// What Apply expects of events (the decoder's contract):
//   - Timestamps are Unix ns; reaping runs on event time, so replaying a
//     capture (Seed, then Apply of the same events) gives the same views.
//   - fork/vfork/clone/clone3 are the parent's records with the child's
//     global pid in Args.TargetPid (else Ret) and the clone flags in
//     Args.Flags: a clone with CLONE_THREAD makes no process. A fork record
//     without its syscall (Syscall -1, so no flags) creates nothing, as it
//     may be a thread: a child process is then created from its first
//     event. The child's own events may also come before the clone record;
//     the child is then created from its header (inheriting from its
//     parent) and the later record does not overwrite it.
//   - execve/execveat are recorded after the exec (Comm is the new comm,
//     Ret 0) with Argv, ExePath and the exe flags; proc.name is the comm.
//   - procexit ends the whole thread group (any Tid).
//   - symlinkat's link path is Path2 with its dirfd in DirFd2; linkat and
//     renameat* use DirFd/Path and DirFd2/Path2.
//   - connect, accept, sendto and sendmsg may carry the socket's own
//     address in Args.LocalAddr; without it the local end stays unknown
//     (printed 0.0.0.0:0 in fd.name) unless a bind set it.
//   - Header credentials (EUID, EGID, LoginUID, CapEffective, TTY,
//     CgroupID) refresh the process on every event. The session id is not
//     in the header: a child keeps its parent's, setsid is not seen.
//
// Memory is bounded: exited processes stay for a grace period, so that the
// ancestry of their children stays complete, and are then reaped; the table
// has a maximum size (oldest exited, then least recently seen processes are
// evicted first, and evictions are counted) and a maximum number of fds per
// process.
package state
