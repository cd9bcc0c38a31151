// Package rules loads Falco-compatible rules files: lists, macros, rules,
// exceptions, append and override. It parses conditions into an AST, checks
// them against the field registry, computes the event types each rule can
// match, and compiles every condition once into an expr program. The engine
// package runs the result through an Evaluator.
//
// Compilation: each field comparison (a leaf) is compiled natively into a
// typed check (string, integer, bool, IP, network), and a run of leaves
// under one and/or becomes one grouped leaf; the expr program combines the
// leaves with && || ! (`let p = P; p(0) && !(p(3) || p(7))`), so expr runs
// every condition while no value is boxed per event. Leaf results are
// memoised per event, since rules share macros. evt.type checks that a
// rule's own event types decide become constants.
//
// Semantics follow Falco: a field that cannot be extracted makes its check
// false, `!=` included; proc.aname and the other ancestor fields without an
// index match any ancestor; fd.ip, fd.net and fd.port match either end;
// `in ()` matches nothing; pmatch compares path components; glob is
// fnmatch without FNM_PATHNAME; regex must match the whole value.
//
// fd.cip.name, fd.sip.name, fd.lip.name and fd.rip.name compare the IP
// address with the addresses the named hosts resolve to, as Falco does; a
// HostResolver looks the names up in the background and refreshes them, and
// a check is false until its names have resolved.
//
// Fields Falco has but Vigil's events do not carry (proc.env,
// container.mounts ...) are registered so that Falco's files load; they
// never extract. `vigil fields` marks them.
//
// A file may hold several YAML documents (---), read in order.
package rules
