package rules

import (
	"os"
	"testing"
)

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"evt.type in (open, openat) and not proc.name in (shells)",
		`fd.name = "a \"b\"" or proc.aname[2] startswith sshd`,
		"not (a or b) and c",
		"tolower(basename(fd.name)) = x and proc.name = val(proc.pname)",
		"fd.name exists and fd.num in ()",
		"((((x))))",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseCondition(s)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		// Printing and parsing again gives the same tree.
		printed := e.String()
		e2, err := ParseCondition(printed)
		if err != nil {
			t.Fatalf("reparsing %q (from %q): %v", printed, s, err)
		}
		if e2.String() != printed {
			t.Fatalf("round trip changed %q to %q", printed, e2.String())
		}
	})
}

func FuzzLoad(f *testing.F) {
	if data, err := os.ReadFile(falcoDir + "falco_rules.yaml"); err == nil && len(data) > 4096 {
		f.Add(data[:4096])
	}
	f.Add([]byte(baseRule))
	f.Add([]byte(baseRule + "  exceptions:\n    - name: e\n      fields: [proc.name, fd.name]\n      values:\n        - [a, [b, c]]\n"))
	f.Add([]byte("- rule: R\n  override:\n    condition: append\n  condition: x\n"))
	f.Add([]byte("- required_engine_version: 0.1.0\n- list: l\n  items: [a, '\"b c\"']\n"))
	f.Add([]byte(baseRule + "  capture: true\n  capture_duration: 100\n---\n- rule: R\n  condition: and fd.sip.name in (localhost, x.example)\n  append: true\n-\n- other: 1\n"))
	f.Add([]byte(baseRule + "  exceptions:\n    - name: e\n      fields: proc.name\n      values: [a]\n- rule: R\n  exceptions:\n    - name: e\n      values: [[b, c]]\n  override:\n    exceptions: append\n"))
	// A stopped resolver: names fuzzed into fd.*.name checks are never
	// looked up.
	hosts := NewHostResolver(HostResolverOptions{})
	hosts.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _, err := LoadBytesWith(LoadOptions{Hosts: hosts}, "fuzz.yaml", data)
		if err != nil {
			if _, ok := err.(*LoadError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		e := NewEvaluator(EvalOptions{})
		ev := testEvent()
		e.Begin(rs, ev)
		for _, r := range rs.Rules() {
			if _, err := e.Match(r); err != nil {
				t.Fatalf("rule %q: %v", r.Name, err)
			}
			e.Format(r, ev)
		}
	})
}
