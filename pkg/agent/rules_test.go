package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.uber.org/zap"

	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/probe"
	vrules "github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// rulesFile writes one rule with the given condition to a temporary file.
func rulesFile(t *testing.T, name, condition string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "rules.yaml")
	body := "- rule: " + name + "\n  desc: test rule\n  condition: " + condition + "\n  output: " + name + " %proc.name\n  priority: WARNING\n"
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestKernelTypesAreRulesPlusState checks the derived syscall set: exactly
// the state tracking's types plus the rules' event types, nothing else.
func TestKernelTypesAreRulesPlusState(t *testing.T) {
	for _, tc := range []struct {
		name      string
		condition string
		extra     []event.Type
	}{
		{"symlinks", "evt.type in (symlink, symlinkat) and evt.arg.target = /etc/shadow", []event.Type{event.TypeSymlink, event.TypeSymlinkat}},
		{"ptrace", "evt.type = ptrace and evt.arg.request contains PTRACE_TRACEME", []event.Type{event.TypePtrace}},
		{"a state type only", "evt.type = connect and fd.sport = 2222", nil},
		{"module loading", "evt.type in (init_module, finit_module)", []event.Type{event.TypeInitModule, event.TypeFinitModule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := loadRules([]string{rulesFile(t, "R", tc.condition)}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Concat(stateTypes, tc.extra)
			slices.Sort(want)
			want = slices.Compact(want)
			if got := kernelTypes(rs); !slices.Equal(got, want) {
				t.Errorf("kernelTypes = %v, want %v", got, want)
			}
		})
	}
	// The default rules: what they match, and nothing they do not.
	rs, err := loadRules(nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	got := kernelTypes(rs)
	for _, ty := range []event.Type{event.TypeOpenat, event.TypeSymlinkat, event.TypeLinkat, event.TypePtrace, event.TypeFinitModule, event.TypeExecve} {
		if !slices.Contains(got, ty) {
			t.Errorf("default rules: %v missing from %v", ty, got)
		}
	}
	// No default rule looks at these: the kernel must not emit them.
	for _, ty := range []event.Type{event.TypeMount, event.TypeSetns, event.TypeBpf} {
		if slices.Contains(got, ty) {
			t.Errorf("default rules: %v emitted though no rule matches it", ty)
		}
	}
}

// TestReloadWidensKernelSet reloads, on the real probe, from a ruleset
// without ptrace to one with a ptrace rule: the kernel's set must then
// include ptrace, and a reload back narrows it again.
func TestReloadWidensKernelSet(t *testing.T) {
	testutil.RequireRoot(t)
	narrow := rulesFile(t, "Symlinks", "evt.type in (symlink, symlinkat)")
	wide := rulesFile(t, "Anti-debug", "evt.type = ptrace and evt.arg.request contains PTRACE_TRACEME")
	rs, err := loadRules([]string{narrow}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	pr := openProbeFor(t, rs)
	eng, err := engine.New(rs, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(pr.EventTypes(), event.TypePtrace) {
		t.Fatalf("ptrace emitted before any rule asks for it: %v", pr.EventTypes())
	}
	for _, step := range []struct {
		file   string
		ptrace bool
	}{{wide, true}, {narrow, false}} {
		if err := reloadRules([]string{step.file}, eng, pr, zap.NewNop(), "test"); err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(pr.EventTypes(), event.TypePtrace); got != step.ptrace {
			t.Errorf("after reloading %s: ptrace emitted = %v, want %v (%v)", filepath.Base(filepath.Dir(step.file)), got, step.ptrace, pr.EventTypes())
		}
		if got, want := len(eng.Ruleset().Rules()), 1; got != want {
			t.Errorf("engine has %d rules, want %d", got, want)
		}
	}
}

// openProbeFor opens the real probe emitting what ruleset rs needs, closed
// when the test ends.
func openProbeFor(t *testing.T, rs *vrules.Ruleset) *probe.Probe {
	t.Helper()
	pr, err := probe.Open(probe.DefaultConfig(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	if err := pr.SetEventTypes(kernelTypes(rs)); err != nil {
		t.Fatal(err)
	}
	return pr
}
