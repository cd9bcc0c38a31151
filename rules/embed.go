// Package rules ships Vigil's default rules files inside the binary, so that
// the agent runs without any -r flag or rules directory on disk. The files
// themselves are plain Falco-format YAML in this directory; load them in the
// order DefaultFiles gives.
package rules

import (
	"embed"
	"fmt"
	"io/fs"

	vrules "github.com/vigilsec/vigil/pkg/rules"
)

// The Helm chart bundles its own copy (Helm cannot read outside the chart);
// test/deploy fails when the copy is stale.
//go:generate cp vigil_rules.yaml ../deploy/helm/vigil/rules/vigil_rules.yaml

//go:embed vigil_rules.yaml
var defaults embed.FS

// DefaultFiles returns the names of the default rules files in load order.
// They are paths in the file system returned by Defaults, and also in this
// directory of the source tree.
func DefaultFiles() []string {
	return []string{"vigil_rules.yaml"}
}

// Defaults returns the default rules files as a read-only file system.
func Defaults() fs.FS {
	return defaults
}

// Load loads the default rules files, in order, with the rule loader.
func Load() (*vrules.Ruleset, []vrules.Warning, error) {
	names := DefaultFiles()
	if len(names) != 1 {
		return nil, nil, fmt.Errorf("default rules: %d files, but only one can be loaded from memory", len(names))
	}
	data, err := fs.ReadFile(defaults, names[0])
	if err != nil {
		return nil, nil, err
	}
	return vrules.LoadBytes(names[0], data)
}
