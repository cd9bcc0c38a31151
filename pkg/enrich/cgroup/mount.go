package cgroup

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
)

// ErrNoCgroup2 is returned when no cgroup2 file system is mounted.
var ErrNoCgroup2 = errors.New("cgroup: no cgroup2 mount found")

// FindMount returns the mount point of the cgroup2 file system listed in r,
// which holds /proc/<pid>/mountinfo. When several are mounted (bind mounts
// into containers), the one whose root is "/" wins, first one first.
func FindMount(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	var fallback string
	for sc.Scan() {
		// mountinfo: id parent major:minor root mountpoint options [optional...] - fstype source superopts
		line := sc.Text()
		sep := strings.Index(line, " - ")
		if sep < 0 {
			continue
		}
		post := strings.Fields(line[sep+3:])
		if len(post) == 0 || post[0] != "cgroup2" {
			continue
		}
		pre := strings.Fields(line[:sep])
		if len(pre) < 5 {
			continue
		}
		mnt := unescapeMount(pre[4])
		if pre[3] == "/" {
			return mnt, nil
		}
		if fallback == "" {
			fallback = mnt
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", ErrNoCgroup2
}

// Mount returns the cgroup2 mount point of this process's mount namespace.
func Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	return FindMount(f)
}

// unescapeMount undoes the octal escapes (\040 for space, \011, \012, \134)
// the kernel writes in mountinfo paths.
func unescapeMount(s string) string {
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
