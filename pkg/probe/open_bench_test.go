package probe

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// BenchmarkOpen measures loading the probe and attaching it for every event
// type, then closing it.
func BenchmarkOpen(b *testing.B) {
	testutil.RequireRoot(b)
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Attach = mode
			for range b.N {
				p, err := Open(cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.SetEventTypes(event.AllTypes()); err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}
