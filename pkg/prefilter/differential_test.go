package prefilter_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/vigilsec/vigil/pkg/alert"
	"github.com/vigilsec/vigil/pkg/engine"
	"github.com/vigilsec/vigil/pkg/event"
	"github.com/vigilsec/vigil/pkg/prefilter"
	"github.com/vigilsec/vigil/pkg/probe"
	"github.com/vigilsec/vigil/pkg/rules"
	"github.com/vigilsec/vigil/pkg/state"
	"github.com/vigilsec/vigil/pkg/testutil"
	defaultrules "github.com/vigilsec/vigil/rules"
)

const falcoDir = "../../../shared/falco"

// workload performs file, link, ptrace and process behaviour, benign and
// suspicious, through ordinary tools. DIR is a scratch directory.
const workload = `
D="$1"
cat /etc/shadow >/dev/null
head -c1 /etc/sudoers >/dev/null 2>&1
cat /etc/pam.d/* >/dev/null 2>&1
(cd /etc && cat shadow ./passwd >/dev/null)
cat /tmp/../etc/shadow >/dev/null
cat /etc/../etc/../etc/shadow >/dev/null
cat /nonexistent/../../etc/shadow >/dev/null 2>&1
cat //etc//shadow >/dev/null
ls -R /etc >/dev/null 2>&1
find /usr/lib -maxdepth 2 -name '*.so*' >/dev/null 2>&1
cp /etc/services "$D/services" && cp -r /etc/default "$D/default"
mkdir -p /var/log/vigil-prefilter-test && echo x > /var/log/vigil-prefilter-test/app.log && : > /var/log/vigil-prefilter-test/app.log
rm -rf /var/log/vigil-prefilter-test
ln -s /etc/shadow "$D/shadowlink"
ln -s /etc "$D/etclink"
ln /etc/shadow "$D/shadowhard" 2>/dev/null
ln "$D/services" "$D/serviceshard"
mv "$D/serviceshard" "$D/renamed"
echo 1 > "$D/release_agent"
echo x > /etc/vigil-prefilter-test && rm -f /etc/vigil-prefilter-test
echo x >> "$D/.bashrc"
mkdir "$D/dir" && chmod 700 "$D/dir" && rmdir "$D/dir"
strace -f -o /dev/null true 2>/dev/null
python3 -c 'open("/etc/shadow").read()' 2>/dev/null
busybox wc /etc/passwd >/dev/null
sh -c 'exec 3</etc/shadow; cat <&3 >/dev/null'
touch "$D/x.log" && : > "$D/x.log"
`

// dirfdWorkload opens directories without O_DIRECTORY and uses them as
// dirfds: the opens must pass although their paths match no rule, or the
// relative opens that follow could not be resolved.
const dirfdWorkload = `
python3 -c 'import os; fd = os.open("/etc", os.O_RDONLY); os.close(os.open("shadow", os.O_RDONLY, dir_fd=fd))'
python3 -c 'import os; fd = os.open("/etc/pam.d", os.O_RDONLY); os.fchdir(fd); open("../shadow").read()'
`

// recording is a workload's raw kernel records.
type recording struct {
	arch       string
	bootOffset int64
	recs       [][]byte
}

var (
	recMu sync.Mutex
	recs  = map[string]recording{}
)

// record runs a workload script under the probe with every event type
// enabled and no prefilter, once per test binary.
func record(t *testing.T, script string) recording {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "strace")
	testutil.RequireBinary(t, "python3")
	recMu.Lock()
	defer recMu.Unlock()
	if r, ok := recs[script]; ok {
		return r
	}
	r, err := doRecord(t, script)
	if err != nil {
		t.Fatal(err)
	}
	recs[script] = r
	return r
}

func doRecord(t *testing.T, script string) (recording, error) {
	p, err := probe.Open(probe.DefaultConfig(), zaptest.NewLogger(t))
	if err != nil {
		return recording{}, err
	}
	defer p.Close()
	if err := p.SetEventTypes(event.AllTypes()); err != nil {
		return recording{}, err
	}
	r := recording{arch: runtime.GOARCH, bootOffset: event.BootOffset()}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(b []byte) {
			mu.Lock()
			r.recs = append(r.recs, slices.Clone(b))
			mu.Unlock()
		})
	}()
	time.Sleep(100 * time.Millisecond)
	dir, err := os.MkdirTemp("", "vigil-prefilter")
	if err != nil {
		cancel()
		return r, err
	}
	defer os.RemoveAll(dir)
	out, werr := exec.Command("/bin/sh", "-c", script, "sh", dir).CombinedOutput()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return r, err
	}
	if werr != nil {
		return r, fmt.Errorf("workload: %v\n%s", werr, out)
	}
	return r, nil
}

// replay runs the records through decode, state and engine; with tb, only
// the records the kernel would ship (Tracker.Ship), numbered as the kernel would ship them.
func replay(t *testing.T, r recording, rs *rules.Ruleset, tb *prefilter.Tables) (alerts []string, shipped int) {
	t.Helper()
	table, err := event.SyscallTableFor(r.arch)
	if err != nil {
		t.Fatal(err)
	}
	pre, dec := event.NewDecoder(table, r.bootOffset), event.NewDecoder(table, r.bootOffset)
	st := state.New(state.Options{})
	eng, err := engine.New(rs, engine.Options{Hostname: "node", Now: func() time.Time { return time.Unix(0, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	var ev, probeView event.Event
	var tr prefilter.Tracker
	for _, b := range r.recs {
		if tb != nil {
			if err := pre.Decode(b, &probeView); err != nil {
				t.Fatal(err)
			}
			if !tr.Ship(tb, &probeView) {
				continue
			}
		}
		if err := dec.Decode(b, &ev); err != nil {
			t.Fatal(err)
		}
		shipped++
		st.Apply(&ev)
		eng.Process(&ev, func(a *alert.Alert) {
			alerts = append(alerts, fmt.Sprintf("%s | %s", a.Rule, strings.ReplaceAll(a.Output, "\n", " ")))
		})
	}
	return alerts, shipped
}

func loadDefaults(t *testing.T) *rules.Ruleset {
	t.Helper()
	names := defaultrules.DefaultFiles()
	data, err := fs.ReadFile(defaultrules.Defaults(), names[0])
	if err != nil {
		t.Fatal(err)
	}
	rs, _, err := rules.LoadBytes(names[0], data)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func loadFalco(t *testing.T, files ...string) *rules.Ruleset { return loadFalcoTB(t, files...) }

func loadFalcoTB(t testing.TB, files ...string) *rules.Ruleset {
	t.Helper()
	var paths []string
	for _, f := range files {
		p := filepath.Join(falcoDir, f)
		if _, err := os.Stat(p); err != nil {
			testutil.Unavailable(t, "Falco rules fixture: "+err.Error())
		}
		paths = append(paths, p)
	}
	rs, _, err := rules.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestDifferential replays one recorded workload through the engine with
// and without the prefilter applied in user space: the alerts must be the
// same, and the prefilter must have dropped events.
func TestDifferential(t *testing.T) {
	differential(t, record(t, workload))
}

// TestDifferentialDirfd replays directories opened without O_DIRECTORY
// and used as dirfds. It needs the probe to flag opens that return a
// directory.
func TestDifferentialDirfd(t *testing.T) {
	r := record(t, dirfdWorkload)
	if !r.flagsOpenedDirs(t) {
		testutil.Unavailable(t, "the probe does not flag opens that return a directory (RECORD_OPENED_DIR)")
	}
	differential(t, r)
}

func differential(t *testing.T, r recording) {
	sets := []struct {
		name string
		load func(t *testing.T) *rules.Ruleset
	}{
		{"falco stable", func(t *testing.T) *rules.Ruleset { return loadFalco(t, "falco_rules.yaml") }},
		{"falco incubating", func(t *testing.T) *rules.Ruleset {
			return loadFalco(t, "falco_rules.yaml", "falco-incubating_rules.yaml")
		}},
		{"falco sandbox", func(t *testing.T) *rules.Ruleset {
			return loadFalco(t, "falco_rules.yaml", "falco-sandbox_rules.yaml")
		}},
		{"falco all", func(t *testing.T) *rules.Ruleset {
			return loadFalco(t, "falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml")
		}},
		{"vigil defaults", loadDefaults},
	}
	for _, s := range sets {
		t.Run(s.name, func(t *testing.T) {
			rs := s.load(t)
			kernel := kernelSet(rs)
			sub := recording{arch: r.arch, bootOffset: r.bootOffset, recs: r.recsOf(t, kernel)}
			want, all := replay(t, sub, rs, nil)
			got, shipped := replay(t, sub, rs, prefilter.Derive(rs).Compile())
			if len(want) == 0 {
				t.Fatalf("the workload raised no alert with %s: the comparison proves nothing", s.name)
			}
			if shipped >= all {
				t.Errorf("prefilter shipped %d of %d events: it filtered nothing", shipped, all)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(want, got) {
				lost, extra := diff(want, got), diff(got, want)
				t.Errorf("alerts differ: %d without prefilter, %d with\nlost:\n  %s\nextra:\n  %s",
					len(want), len(got), strings.Join(lost, "\n  "), strings.Join(extra, "\n  "))
			}
			t.Logf("%d alerts; %d of %d events shipped with the prefilter", len(want), shipped, all)
		})
	}
}

// kernelSet is the syscall set the agent enables for rs: the rules' types
// plus those state tracking needs.
func kernelSet(rs *rules.Ruleset) []event.Type {
	types := slices.Clone(rs.EventTypes())
	for t := range event.NumTypes {
		if prefilter.Kept(t) {
			types = append(types, t)
		}
	}
	return types
}

// recsOf keeps the records of the given event types, as the kernel's
// syscall set would.
func (r recording) recsOf(t *testing.T, types []event.Type) [][]byte {
	table, err := event.SyscallTableFor(r.arch)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(table, r.bootOffset)
	var ev event.Event
	var out [][]byte
	for _, b := range r.recs {
		if err := dec.Decode(b, &ev); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(types, ev.Type) {
			out = append(out, b)
		}
	}
	return out
}

// diff returns the items of a (sorted) missing from b, counting repeats.
func diff(a, b []string) []string {
	var out []string
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			j++
			continue
		}
		out = append(out, x)
	}
	return out
}

// flagsOpenedDirs reports whether the recording has an open flagged as
// returning a directory.
func (r recording) flagsOpenedDirs(t *testing.T) bool {
	table, err := event.SyscallTableFor(r.arch)
	if err != nil {
		t.Fatal(err)
	}
	dec := event.NewDecoder(table, r.bootOffset)
	var ev event.Event
	for _, b := range r.recs {
		if dec.Decode(b, &ev) == nil && prefilter.LayoutOf(ev.Type).Open && ev.Args.OpenedDir {
			return true
		}
	}
	return false
}
