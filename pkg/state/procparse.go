package state

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// statInfo is what ScanProc uses from /proc/PID/stat.
type statInfo struct {
	Pid        uint32
	Comm       string
	State      byte
	PPid       uint32
	Session    uint32
	TTY        uint32
	StartTicks uint64
}

var errBadStat = errors.New("malformed /proc/PID/stat")

// parseStat parses /proc/PID/stat. The comm may hold spaces and
// parentheses, so it is taken between the first '(' and the last ')'.
func parseStat(data []byte) (statInfo, error) {
	var s statInfo
	open := bytes.IndexByte(data, '(')
	end := bytes.LastIndexByte(data, ')')
	if open < 1 || end < open {
		return s, errBadStat
	}
	pid, err := strconv.ParseUint(string(bytes.TrimSpace(data[:open])), 10, 32)
	if err != nil {
		return s, errBadStat
	}
	s.Pid = uint32(pid)
	s.Comm = string(data[open+1 : end])
	// After ") ": state(0) ppid(1) pgrp(2) session(3) tty_nr(4) tpgid(5)
	// flags(6) minflt(7) cminflt(8) majflt(9) cmajflt(10) utime(11)
	// stime(12) cutime(13) cstime(14) priority(15) nice(16)
	// num_threads(17) itrealvalue(18) starttime(19).
	f := bytes.Fields(data[end+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return s, errBadStat
	}
	s.State = f[0][0]
	var vals [4]int64
	for i, idx := range [4]int{1, 3, 4, 19} {
		v, err := strconv.ParseInt(string(f[idx]), 10, 64)
		if err != nil {
			return s, errBadStat
		}
		vals[i] = v
	}
	if vals[0] < 0 || vals[1] < 0 || vals[3] < 0 {
		return s, errBadStat
	}
	s.PPid, s.Session, s.TTY = uint32(vals[0]), uint32(vals[1]), uint32(vals[2])
	s.StartTicks = uint64(vals[3])
	return s, nil
}

// statusInfo is what ScanProc uses from /proc/PID/status.
type statusInfo struct {
	EUID, EGID uint32
	// VPid is the last NSpid field: the pid in the innermost namespace.
	VPid   uint32
	CapEff uint64
}

// parseStatus parses /proc/PID/status; absent fields stay zero.
func parseStatus(data []byte) statusInfo {
	var s statusInfo
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key, f := string(line[:colon]), bytes.Fields(line[colon+1:])
		if len(f) == 0 {
			continue
		}
		switch key {
		case "Uid", "Gid":
			if len(f) < 2 {
				continue
			}
			v, err := strconv.ParseUint(string(f[1]), 10, 32)
			if err != nil {
				continue
			}
			if key == "Uid" {
				s.EUID = uint32(v)
			} else {
				s.EGID = uint32(v)
			}
		case "NSpid":
			if v, err := strconv.ParseUint(string(f[len(f)-1]), 10, 32); err == nil {
				s.VPid = uint32(v)
			}
		case "CapEff":
			if v, err := strconv.ParseUint(string(f[0]), 16, 64); err == nil {
				s.CapEff = v
			}
		}
	}
	return s
}

// parseCmdline splits /proc/PID/cmdline at NULs.
func parseCmdline(data []byte) []string {
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte{0})
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

// parseFdinfoFlags returns the "flags:" field (octal) of /proc/PID/fdinfo/N.
func parseFdinfoFlags(data []byte) (uint64, bool) {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("flags:")); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 8, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// mountInfo is one /proc/PID/mountinfo line's fields that matter here.
type mountInfo struct {
	Root, MountPoint, FSType string
}

// parseMountinfo parses /proc/PID/mountinfo, unescaping octal escapes in
// paths. Malformed lines are skipped.
func parseMountinfo(data []byte) []mountInfo {
	var out []mountInfo
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		out = append(out, mountInfo{Root: unescapeOctal(f[3]), MountPoint: unescapeOctal(f[4]), FSType: f[sep+1]})
	}
	return out
}

// unescapeOctal undoes the kernel's \NNN escaping of spaces, tabs,
// newlines and backslashes in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// cgroup2Mount returns the cgroup v2 mount (the first "cgroup2" entry).
func cgroup2Mount(mounts []mountInfo) (mountInfo, bool) {
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			return m, true
		}
	}
	return mountInfo{}, false
}

// parseCgroupV2Path returns the unified-hierarchy path ("0::/path") of
// /proc/PID/cgroup.
func parseCgroupV2Path(data []byte) (string, bool) {
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && p != "" {
			return p, true
		}
	}
	return "", false
}

// cgroupDir returns the directory of cgroup path cg under mount m: the
// path is relative to the hierarchy's root, the mount shows m.Root of it.
func cgroupDir(m mountInfo, cg string) (string, bool) {
	rel := cg
	if m.Root != "/" {
		r, ok := strings.CutPrefix(cg, m.Root)
		if !ok || (r != "" && r[0] != '/') {
			return "", false
		}
		rel = r
	}
	rel = strings.TrimPrefix(rel, "/")
	if rel == "" {
		return m.MountPoint, true
	}
	return strings.TrimSuffix(m.MountPoint, "/") + "/" + rel, true
}
