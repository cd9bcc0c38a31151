package probe

import (
	"strconv"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// BenchmarkPrefilterBPF reports the BPF time per openat+close pair of a
// loop, with Falco's stable prefilter installed or not, and the records
// shipped per pair (the loop's opens match no rule: with the prefilter,
// only the closes are shipped).
func BenchmarkPrefilterBPF(b *testing.B) {
	testutil.RequireRoot(b)
	enableStats(b)
	rs, _, err := rules.Load("../../../shared/falco/falco_rules.yaml")
	if err != nil {
		testutil.Unavailable(b, "Falco rules: "+err.Error())
	}
	for _, pf := range []bool{false, true} {
		b.Run(map[bool]string{false: "without", true: "with"}[pf], func(b *testing.B) {
			p := openProbe(b, DefaultConfig(), event.TypeOpenat, event.TypeClose)
			if pf {
				if err := p.SetPrefilter(prefilter.Derive(rs).Compile()); err != nil {
					b.Fatal(err)
				}
			}
			stop, _ := drain(b, p)
			rt0, n0 := progsRuntime(b, p.exitProgs()...)
			r0 := p.records.Load()
			b.ResetTimer()
			ns := runLoop(b, "loop-open", b.TempDir(), strconv.Itoa(b.N))
			b.StopTimer()
			rt1, n1 := progsRuntime(b, p.exitProgs()...)
			stop()
			b.ReportMetric(float64((rt1-rt0).Nanoseconds())/float64(b.N), "bpf-ns/pair")
			b.ReportMetric(float64(n1-n0)/float64(b.N), "runs/pair")
			b.ReportMetric(float64(p.records.Load()-r0)/float64(b.N), "records/pair")
			b.ReportMetric(ns, "loop-ns/pair")
		})
	}
}
