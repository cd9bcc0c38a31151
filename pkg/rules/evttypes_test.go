package rules

import (
	"slices"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

func TestRulesEventTypeIndex(t *testing.T) {
	all := allTypes().list()
	without := func(names ...string) []event.Type {
		return slices.DeleteFunc(slices.Clone(all), func(t event.Type) bool { return slices.Contains(names, t.String()) })
	}
	only := func(names ...string) []event.Type {
		return slices.DeleteFunc(slices.Clone(all), func(t event.Type) bool { return !slices.Contains(names, t.String()) })
	}
	cases := []struct {
		cond string
		want []event.Type
	}{
		{"evt.type = open", only("open")},
		{"not evt.type = open", without("open")},
		{"evt.type != open", without("open")},
		{"not evt.type != open", only("open")},
		{"not evt.type in (open, openat)", without("open", "openat")},
		// not (a and b) is (not a) or (not b): not b matches every type.
		{"not (evt.type = open and proc.name = x)", all},
		{"not (evt.type = open or evt.type = openat)", without("open", "openat")},
		{"not (evt.type = open or proc.name = x)", without("open")},
		{"evt.type in (open, openat) and not evt.type = open", only("openat")},
		{"evt.type = open and not (evt.type = open and proc.name = x)", only("open")},
		{"not not evt.type = connect", only("connect")},
		{"evt.type = open or not proc.name = x", all},
		{"proc.name = x", all},
		{"evt.type = open and evt.type = connect", nil},
	}
	for _, tc := range cases {
		rs := mustLoad(t, "- rule: R\n  desc: d\n  condition: "+tc.cond+"\n  output: o\n  priority: INFO\n  warn_evttypes: false\n")
		got := rs.AllRules()[0].EventTypes()
		if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: types %v, want %v", tc.cond, got, tc.want)
		}
		for _, ty := range all {
			if rs.AllRules()[0].MatchesType(ty) != slices.Contains(tc.want, ty) {
				t.Errorf("%s: MatchesType(%s) disagrees with EventTypes", tc.cond, ty)
			}
		}
	}
	// An event of an excluded type is never a candidate; one of the other
	// types is evaluated.
	rs := mustLoad(t, "- rule: R\n  desc: d\n  condition: not evt.type = openat and proc.name = bash\n  output: o\n  priority: INFO\n  warn_evttypes: false\n")
	r := rs.Rules()[0]
	ev := testEvent()
	if r.MatchesType(ev.Type) {
		t.Error("openat is a candidate of a rule excluding it")
	}
	ev.Type = event.TypeUnlinkat
	e := NewEvaluator(EvalOptions{})
	e.Begin(rs, ev)
	if ok, err := e.Match(r); !r.MatchesType(ev.Type) || !ok || err != nil {
		t.Errorf("unlinkat by bash: candidate %v, match %v, %v", r.MatchesType(ev.Type), ok, err)
	}
}
