package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// kubeletSysctls are the kernel settings the kubelet changes at start
// (protectKernelDefaults off): they are saved before and written back after.
var kubeletSysctls = []string{
	"vm/overcommit_memory",
	"kernel/panic",
	"kernel/panic_on_oops",
}

// kubeletPaths are the host paths the kubelet and the runtime write whatever
// their configured roots; they are removed on teardown when they did not
// exist before.
var kubeletPaths = []string{"/var/lib/kubelet", "/var/log/pods", "/var/log/containers"}

// hostState is what the cluster changes on the host outside its own
// directory, recorded before the cluster starts.
type hostState struct {
	sysctls map[string]string
	created []string // kubeletPaths that did not exist
	cgroups []string // cgroup hierarchies' mount points
	// podParents are the QoS cgroups (kubepods, kubepods/burstable,
	// kubepods/besteffort of each hierarchy) that did not exist: other
	// tests on the host may lay out cgroups like the kubelet, so only
	// these and the cluster's own pod cgroups are removed.
	podParents []string
}

// saveHostState records the kubelet's sysctls and which of its paths exist.
// It refuses to run when one of those paths already exists: another kubelet
// owns the node.
func saveHostState() (*hostState, error) {
	h := &hostState{sysctls: map[string]string{}}
	for _, k := range kubeletSysctls {
		b, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			return nil, err
		}
		h.sysctls[k] = strings.TrimSpace(string(b))
	}
	for _, p := range kubeletPaths {
		if _, err := os.Stat(p); err == nil {
			return nil, fmt.Errorf("%s exists: another kubelet (or an earlier run that was killed) owns this node; remove it first", p)
		}
		h.created = append(h.created, p)
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 2 && (f[2] == "cgroup" || f[2] == "cgroup2") {
			h.cgroups = append(h.cgroups, f[1])
			for _, q := range []string{"kubepods", "kubepods/burstable", "kubepods/besteffort"} {
				if _, err := os.Stat(filepath.Join(f[1], q)); err != nil {
					h.podParents = append(h.podParents, filepath.Join(f[1], q))
				}
			}
		}
	}
	return h, nil
}

// restoreSysctls writes the saved kernel settings back.
func (h *hostState) restoreSysctls() error {
	var errs []string
	for k, v := range h.sysctls {
		if err := os.WriteFile("/proc/sys/"+k, []byte(v), 0o644); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("restore sysctls: %s", strings.Join(errs, "; "))
	}
	return nil
}

// verify checks that the host is back as saved: each of the kubelet's
// sysctls (read below procSys, normally /proc/sys) has its saved value and
// none of the kubelet's paths the cluster created is left.
func (h *hostState) verify(procSys string) []error {
	var errs []error
	for _, k := range kubeletSysctls {
		want, ok := h.sysctls[k]
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procSys, k))
		if err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s: %w", strings.ReplaceAll(k, "/", "."), err))
			continue
		}
		if got := strings.TrimSpace(string(b)); got != want {
			errs = append(errs, fmt.Errorf("sysctl %s is %s, was %s before the cluster", strings.ReplaceAll(k, "/", "."), got, want))
		}
	}
	for _, p := range h.created {
		if _, err := os.Lstat(p); err == nil {
			errs = append(errs, fmt.Errorf("%s is left on the host", p))
		} else if !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errs
}

// restore writes the sysctls back, removes the cluster's pod cgroups (the
// pods the kubelet knew, from its root directory) and the QoS cgroups it
// created, unmounts what is mounted below the kubelet's paths and dir, and
// removes the kubelet's paths.
func (h *hostState) restore(dir string) []error {
	var errs []error
	if err := h.restoreSysctls(); err != nil {
		errs = append(errs, err)
	}
	pods, _ := os.ReadDir("/var/lib/kubelet/pods")
	for _, root := range h.cgroups {
		for _, q := range []string{"kubepods", "kubepods/burstable", "kubepods/besteffort"} {
			for _, pod := range pods {
				if err := removeCgroupTree(filepath.Join(root, q, "pod"+pod.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	for i := len(h.podParents) - 1; i >= 0; i-- {
		os.Remove(h.podParents[i]) // only when empty: children first
	}
	unmountBelow(append([]string{dir}, h.created...)...)
	for _, p := range h.created {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// unmountBelow detaches every mount at or below one of roots, deepest first.
func unmountBelow(roots ...string) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return
	}
	defer f.Close()
	var targets []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		mp := strings.ReplaceAll(fields[1], `\040`, " ")
		for _, r := range roots {
			if mp == r || strings.HasPrefix(mp, r+"/") {
				targets = append(targets, mp)
			}
		}
	}
	sort.Slice(targets, func(i, j int) bool { return len(targets[i]) > len(targets[j]) })
	for _, t := range targets {
		syscall.Unmount(t, syscall.MNT_DETACH)
	}
}

// removeCgroupTree removes a cgroup and its children, deepest first. The
// cgroups must be empty (their processes gone).
func removeCgroupTree(root string) error {
	if _, err := os.Stat(root); err != nil {
		return nil
	}
	var dirs []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var last error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil {
			last = err
		}
	}
	return last
}

// stateDir holds the lock that serialises cluster tests on a host and the
// record of the running cluster, from which a later run cleans up after one
// that was killed.
const stateDir = "/run/vigil-test-cluster"

// record is what a later run needs to undo a killed run's changes.
type record struct {
	Dir     string            `json:"dir"`
	Sysctls map[string]string `json:"sysctls"`
	Created []string          `json:"created"`
	Cgroups []string          `json:"cgroups"`
	Parents []string          `json:"pod_parents"`
}

// lockHost takes the host-wide cluster lock, waiting for another cluster
// test to finish, then undoes what a killed earlier run left behind. The
// returned file holds the lock until closed.
func lockHost(logf func(string, ...any)) (*os.File, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(stateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		logf("cluster: waiting for another cluster test on this host")
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, err
		}
	}
	b, err := os.ReadFile(filepath.Join(stateDir, "state.json"))
	if err == nil {
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s/state.json: %w", stateDir, err)
		}
		logf("cluster: cleaning up after a killed run in %s", r.Dir)
		r.recover()
		os.Remove(filepath.Join(stateDir, "state.json"))
	}
	return f, nil
}

// save records the running cluster.
func (h *hostState) save(dir string) error {
	b, err := json.Marshal(record{Dir: dir, Sysctls: h.sysctls, Created: h.created, Cgroups: h.cgroups, Parents: h.podParents})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(stateDir, "state.json"), b, 0o644)
}

// forget removes the record after a clean teardown.
func forget() { os.Remove(filepath.Join(stateDir, "state.json")) }

// recover kills what a killed run started — the processes naming its
// directory (components, containerd, the shims) and the shims' children
// (the containers' first processes; killing one ends its PID namespace) —
// then restores the host as teardown would.
func (r record) recover() {
	var pids []int
	shims := map[int]bool{}
	parents := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if stat, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil {
			// pid (comm) state ppid ...: comm may hold spaces.
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
				if f := strings.Fields(string(stat[i+1:])); len(f) > 1 {
					parents[pid], _ = strconv.Atoi(f[1])
				}
			}
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && r.Dir != "" && strings.Contains(string(cmdline), r.Dir) {
			pids = append(pids, pid)
			if strings.Contains(string(cmdline), "containerd-shim") {
				shims[pid] = true
			}
		}
	}
	for pid, ppid := range parents {
		if shims[ppid] {
			pids = append(pids, pid)
		}
	}
	// The pods' network namespaces are bind-mounted by the runtime below
	// /var/run/netns: find those the killed run's containers are in.
	netns := map[uint64]bool{}
	for _, pid := range pids {
		var st syscall.Stat_t
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) == nil {
			netns[st.Ino] = true
		}
	}
	var st syscall.Stat_t
	if syscall.Stat("/proc/self/ns/net", &st) == nil {
		delete(netns, st.Ino) // host-network processes
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if files, err := os.ReadDir("/var/run/netns"); err == nil {
		for _, f := range files {
			p := filepath.Join("/var/run/netns", f.Name())
			var st syscall.Stat_t
			if syscall.Stat(p, &st) == nil && netns[st.Ino] {
				syscall.Unmount(p, syscall.MNT_DETACH)
				os.Remove(p)
			}
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		alive := 0
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				alive++
			}
		}
		if alive == 0 {
			break
		}
	}
	exec.Command("ip", "link", "del", BridgeName).Run()
	h := &hostState{sysctls: r.Sysctls, created: r.Created, cgroups: r.Cgroups, podParents: r.Parents}
	h.restore(r.Dir)
	if r.Dir != "" {
		os.RemoveAll(r.Dir)
	}
}
