package rules_test

import (
	"testing"

	vrules "github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/rules"
)

// BenchmarkDefaultRules evaluates the default ruleset, first-match, over the
// behaviour table's events (a third of them benign), the way the engine
// does: only the rules indexed for the event's type run.
func BenchmarkDefaultRules(b *testing.B) {
	rs, _, err := vrules.Load(rules.DefaultFiles()...)
	if err != nil {
		b.Fatal(err)
	}
	cases := behaviourCases()
	byType := map[int][]*vrules.Rule{}
	for _, c := range cases {
		t := int(c.ev.Type)
		if _, ok := byType[t]; ok {
			continue
		}
		for _, r := range rs.Rules() {
			if r.MatchesType(c.ev.Type) {
				byType[t] = append(byType[t], r)
			}
		}
	}
	ev := vrules.NewEvaluator(vrules.EvalOptions{Hostname: "node-1"})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := cases[i%len(cases)]
		ev.Begin(rs, c.ev)
		for _, r := range byType[int(c.ev.Type)] {
			ok, err := ev.Match(r)
			if err != nil {
				b.Fatal(err)
			}
			if ok {
				break
			}
		}
	}
}
