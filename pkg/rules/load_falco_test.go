package rules

import (
	"bufio"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/pkg/alert"
)

// falcoDir holds Falco's published rules, read in place as test fixtures.
const falcoDir = "../../../shared/falco/"

func falcoFiles(t testing.TB) []string {
	files := []string{falcoDir + "falco_rules.yaml", falcoDir + "falco-incubating_rules.yaml", falcoDir + "falco-sandbox_rules.yaml"}
	if _, err := os.Stat(files[0]); err != nil {
		t.Skipf("Falco rules fixtures not found: %v", err)
	}
	return files
}

// stableRow is one row of the table in stable-rules-needs.md.
type stableRow struct {
	rule, priority string
	types          []string
}

func readStableTable(t *testing.T) []stableRow {
	f, err := os.Open(falcoDir + "stable-rules-needs.md")
	if err != nil {
		t.Skipf("stable-rules-needs.md not found: %v", err)
	}
	defer f.Close()
	var rows []stableRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "|")
		if len(cols) < 6 {
			continue
		}
		num := strings.TrimSpace(cols[1])
		if num == "" || num[0] < '0' || num[0] > '9' {
			continue
		}
		var types []string
		for _, ty := range strings.Split(cols[4], ",") {
			types = append(types, strings.TrimSpace(ty))
		}
		sort.Strings(types)
		rows = append(rows, stableRow{rule: strings.TrimSpace(cols[2]), priority: strings.TrimSpace(cols[3]), types: types})
	}
	if len(rows) == 0 {
		t.Fatal("no rows parsed from stable-rules-needs.md")
	}
	return rows
}

func TestLoadFalcoRules(t *testing.T) {
	rs, warns, err := Load(falcoFiles(t)...)
	if err != nil {
		t.Fatalf("loading Falco's rules: %v", err)
	}
	for _, w := range warns {
		t.Log("warning: " + w.String())
	}
	t.Logf("%d rules (%d enabled), %d distinct checks, kernel event types %v", len(rs.AllRules()), len(rs.Rules()), rs.Leaves(), rs.EventTypes())
	if got, want := len(rs.AllRules()), 25+31+37; got != want {
		t.Errorf("loaded %d rules, want %d", got, want)
	}
}

func TestStableRuleEventTypes(t *testing.T) {
	rows := readStableTable(t)
	rs, _, err := Load(falcoFiles(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Rule{}
	for _, r := range rs.AllRules() {
		byName[r.Name] = r
	}
	if len(rows) != len(rs.AllRules()) {
		t.Errorf("table has %d rules, the stable file %d", len(rows), len(rs.AllRules()))
	}
	union := map[string]bool{}
	for _, row := range rows {
		r := byName[row.rule]
		if r == nil {
			t.Errorf("rule %q not loaded", row.rule)
			continue
		}
		var got []string
		for _, ty := range r.EventTypes() {
			got = append(got, ty.String())
			union[ty.String()] = true
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(row.types, ",") {
			t.Errorf("rule %q: event types %v, want %v", row.rule, got, row.types)
		}
		want, err := alert.ParsePriority(row.priority)
		if err != nil {
			t.Fatal(err)
		}
		if r.Priority != want {
			t.Errorf("rule %q: priority %v, want %v", row.rule, r.Priority, want)
		}
	}
	if len(rs.EventTypes()) != len(union) {
		t.Errorf("ruleset event types %v, want the union of the rules' (%d)", rs.EventTypes(), len(union))
	}
}
