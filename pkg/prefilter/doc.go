// Package prefilter derives, from a loaded ruleset, filters the kernel can
// apply before it ships an event to user space, and compiles them into the
// contents of the probe's prefilter maps.
//
// For each event type, every enabled rule that can match the type gives a
// predicate its condition implies over what the kernel sees at the syscall:
// the raw path arguments, the open flags, the return value and the ptrace
// request. A rule's predicate is a disjunction of clauses, each a
// conjunction of bounds on those values; the type's filter is the union of
// the clauses of all its rules. An event the filter rejects cannot match any
// rule. A rule whose condition gives no usable bound leaves its types
// unfiltered, and the explanation names it.
//
// Derivation is conservative by construction: a check it does not
// understand bounds nothing, negated checks bound nothing (Falco's "a field
// that cannot be extracted makes its check false" makes most of them true
// on the events that matter), and a path is compared only when the raw
// argument is absolute and already clean ("/etc/shadow", not "etc/shadow",
// "/etc//shadow", "/etc/./shadow" or "/tmp/../etc/shadow"), since only then
// does it equal fd.name, which the state stage resolves.
//
// State tracking keeps what it needs: process lifecycle, descriptor setup,
// cwd changes, sockets, sends, listens and memfds are never filtered; opens
// with O_DIRECTORY or O_PATH, and opens that return a directory, always pass
// (they may become a dirfd or an fchdir target); and opens are not filtered at all when a rule reads fd.*
// fields of an event that uses a descriptor an open could have created.
//
// Compile turns a Filter into Tables: per-type clause masks, hashed exact
// paths, prefixes and suffixes with bitmaps of the lengths to look up,
// open-flag atoms and value sets. Tables.Match
// applies exactly the kernel's algorithm to a decoded event, so user-space
// differential tests check the very contents the kernel gets.
package prefilter
