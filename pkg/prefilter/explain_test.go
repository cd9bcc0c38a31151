package prefilter_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/pkg/prefilter"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestExplainGolden pins the explanation of Falco's stable rules and of
// Vigil's defaults.
func TestExplainGolden(t *testing.T) {
	for _, c := range []struct{ name, golden string }{
		{"falco stable", "falco_stable.golden"},
		{"vigil defaults", "vigil_defaults.golden"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs := loadDefaults(t)
			if c.name == "falco stable" {
				rs = loadFalco(t, "falco_rules.yaml")
			}
			var b bytes.Buffer
			if err := prefilter.Derive(rs).Explain(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", c.golden)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("explanation differs from %s (run with -update to accept):\n%s", path, b.String())
			}
		})
	}
}

// BenchmarkDerive measures deriving and compiling the prefilter of all
// three Falco rule files, what a reload adds.
func BenchmarkDerive(b *testing.B) {
	rs := loadFalcoTB(b, "falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
	b.ResetTimer()
	for range b.N {
		prefilter.Derive(rs).Compile()
	}
}
