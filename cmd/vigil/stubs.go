package main

// Subcommands whose implementation has not landed yet. Each moves to a file of
// its own when it is built.
func init() {
	notYet("run", "run the agent: kernel probes, rule engine, outputs", "the end-to-end agent")
	notYet("rules validate", "check rules files and print every error", "the rule engine")
	notYet("rules list", "list the rules of rules files", "the rule engine")
	notYet("fields", "list every supported rule field", "the rule engine")
}
