package suite

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/testutil"
)

// TestHostKernel runs the whole suite on the machine's own kernel, the
// matrix's host entry: every program loads, both attach modes attach, and
// every event check passes (or is skipped for a reason the kernel gives).
func TestHostKernel(t *testing.T) {
	testutil.RequireRoot(t)
	goBin := testutil.RequireBinary(t, "go")
	obj := map[string]string{"amd64": "vigil_x86_bpfel.o", "arm64": "vigil_arm64_bpfel.o"}[runtime.GOARCH]
	if obj == "" {
		t.Skipf("no probe object for %s", runtime.GOARCH)
	}
	actions := filepath.Join(t.TempDir(), "actions")
	build := exec.Command(goBin, "build", "-o", actions, "../../actions")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build test/actions: %v\n%s", err, out)
	}

	var out strings.Builder
	r := Run(Config{
		Object:  filepath.Join("../../../pkg/probe", obj),
		Actions: actions,
		TempDir: t.TempDir(),
		Log:     zaptest.NewLogger(t),
	}, &out)
	if !r.OK || !r.Loaded || !r.Attached || !r.EventsOK {
		t.Errorf("suite failed on %s: %v", r.Kernel, r.Failures)
	}
	if r.Refusal != "" {
		t.Errorf("the agent's entry refused this kernel: %s", r.Refusal)
	}
	if len(r.Programs) == 0 {
		t.Error("no program loaded")
	}

	// Every line is a prefix and a JSON object; each check ran in both
	// modes; the result line comes last and repeats the counts.
	seen := map[string]int{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		last = sc.Text()
		rest, ok := strings.CutPrefix(last, CheckPrefix)
		if !ok {
			continue
		}
		var c Check
		if err := json.Unmarshal([]byte(rest), &c); err != nil {
			t.Fatalf("check line %q: %v", last, err)
		}
		if c.Mode != "" && c.Family != "" {
			seen[c.Check]++
		}
	}
	for _, c := range checks {
		if seen[c.name] != 2 {
			t.Errorf("check %q ran %d times, want once per mode (%s, %s)", c.name, seen[c.name], probe.AttachPerSyscall, probe.AttachGeneric)
		}
	}
	rest, ok := strings.CutPrefix(last, ResultPrefix)
	if !ok {
		t.Fatalf("last line %q is not the result", last)
	}
	var got Result
	if err := json.Unmarshal([]byte(rest), &got); err != nil {
		t.Fatal(err)
	}
	if got.Passed != r.Passed || got.Failed != r.Failed || got.Kernel != r.Kernel {
		t.Errorf("result line %+v, returned %+v", got, r)
	}
}
