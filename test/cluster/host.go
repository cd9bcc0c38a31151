package cluster

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
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

// restore writes the sysctls back, unmounts what is mounted below the
// kubelet's paths and dir, removes the kubelet's paths and the pod cgroups
// (kubepods) of every hierarchy.
func (h *hostState) restore(dir string) []error {
	var errs []error
	if err := h.restoreSysctls(); err != nil {
		errs = append(errs, err)
	}
	unmountBelow(append([]string{dir}, h.created...)...)
	for _, p := range h.created {
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, root := range h.cgroups {
		if err := removeCgroupTree(filepath.Join(root, "kubepods")); err != nil {
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
