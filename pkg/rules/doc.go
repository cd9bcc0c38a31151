// Package rules loads Falco-compatible rules files: lists, macros, rules,
// exceptions, append and override. It parses conditions into an AST, checks
// them against the field registry, computes the event types each rule can
// match, and compiles every condition once into an expr program whose leaves
// are typed field checks. The engine package runs the result.
package rules
