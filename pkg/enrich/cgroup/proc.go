package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
)

// ProcPath returns the cgroup v2 path of process pid (relative to the
// cgroup2 mount of this cgroup namespace), read from /proc/<pid>/cgroup.
func ProcPath(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	p, ok := ParseProcCgroup(b)
	if !ok {
		return "", fmt.Errorf("cgroup: pid %d has no cgroup v2 entry", pid)
	}
	return p, nil
}

// ParseProcCgroup returns the path of the unified (v2) hierarchy, the
// "0::<path>" line, from the content of a /proc/<pid>/cgroup file.
func ParseProcCgroup(b []byte) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("0::")); ok && len(rest) > 0 && rest[0] == '/' {
			return string(rest), true
		}
	}
	return "", false
}
