package main

// Subcommands whose implementation has not landed yet. Each moves to a file of
// its own when it is built.
func init() {
	notYet("run", "run the agent: kernel probes, rule engine, outputs", "the end-to-end agent")
}
