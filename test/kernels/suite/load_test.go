package suite

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestLoadSpec loads a program the verifier accepts and one it rejects
// (it reads a register never written): the rejected one is reported with
// the end of the verifier log, and does not hide the verdict on the other.
func TestLoadSpec(t *testing.T) {
	testutil.RequireRoot(t)
	prog := func(insns ...asm.Instruction) *ebpf.ProgramSpec {
		return &ebpf.ProgramSpec{Type: ebpf.TracePoint, License: "GPL", Instructions: insns}
	}
	spec := &ebpf.CollectionSpec{Programs: map[string]*ebpf.ProgramSpec{
		"good": prog(asm.Mov.Imm(asm.R0, 0), asm.Return()),
		"bad":  prog(asm.Mov.Reg(asm.R0, asm.R5), asm.Return()),
	}}
	got := loadSpec(spec)
	if len(got) != 2 || got[0].Program != "bad" || got[1].Program != "good" {
		t.Fatalf("results %+v, want bad then good", got)
	}
	if !got[1].OK || got[1].Error != "" {
		t.Errorf("good: %+v", got[1])
	}
	bad := got[0]
	if bad.OK || bad.Error == "" || !strings.Contains(bad.Verifier, "R5 !read_ok") {
		t.Errorf("bad: ok %v error %q verifier log %q", bad.OK, bad.Error, bad.Verifier)
	}
}

func TestVerifierTailBounded(t *testing.T) {
	lines := make([]string, maxVerifierLines+30)
	for i := range lines {
		lines[i] = "insn"
	}
	lines[len(lines)-1] = "the reason"
	got := verifierTail(&ebpf.VerifierError{Log: lines})
	if n := strings.Count(got, "\n") + 1; n != maxVerifierLines+1 {
		t.Errorf("%d lines, want %d", n, maxVerifierLines+1)
	}
	if !strings.HasPrefix(got, "(30 lines before)") || !strings.HasSuffix(got, "the reason") {
		t.Errorf("tail %q", got)
	}
}
