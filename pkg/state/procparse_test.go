package state

import (
	"reflect"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want statInfo
		err  bool
	}{
		{"plain", "7756 (cat) R 7753 7753 4015 34816 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 123510 3133440 382 18446744073709551615",
			statInfo{Pid: 7756, Comm: "cat", State: 'R', PPid: 7753, Session: 4015, TTY: 34816, StartTicks: 123510}, false},
		{"comm with spaces and parens", "42 (a b) (c)) S 1 42 42 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			statInfo{Pid: 42, Comm: "a b) (c)", State: 'S', PPid: 1, Session: 42, StartTicks: 99}, false},
		{"empty comm", "5 () S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7", statInfo{Pid: 5, State: 'S', StartTicks: 7}, false},
		{"truncated", "7756 (cat) R 7753 7753", statInfo{}, true},
		{"no parens", "7756 cat R", statInfo{}, true},
		{"bad pid", "x (cat) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7", statInfo{}, true},
		{"negative ppid", "9 (cat) R -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7", statInfo{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tsleep\nUid:\t1000\t0\t0\t0\nGid:\t100\t50\t50\t50\nNSpid:\t4242\t17\t1\nCapEff:\t000001fffeffffff\nbroken\nUid:\n"
	want := statusInfo{EUID: 0, EGID: 50, VPid: 1, CapEff: 0x1fffeffffff}
	if got := parseStatus([]byte(in)); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"sleep\x00100\x00", []string{"sleep", "100"}},
		{"nginx: worker process", []string{"nginx: worker process"}},
		{"a\x00\x00b\x00", []string{"a", "", "b"}},
		{"", nil},
		{"\x00\x00", nil},
	}
	for _, tc := range tests {
		if got := parseCmdline([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseCmdline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseFdinfoFlags(t *testing.T) {
	if f, ok := parseFdinfoFlags([]byte("pos:\t0\nflags:\t02100002\nmnt_id:\t24\n")); !ok || f != 0o2100002 || f&oCloexec == 0 {
		t.Fatalf("flags = %o, %v", f, ok)
	}
	if _, ok := parseFdinfoFlags([]byte("pos:\t0\n")); ok {
		t.Fatal("missing flags parsed")
	}
}

func TestCgroupMountAndDir(t *testing.T) {
	mi := `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
99 41 0:38 /kubepods /host\040cg rw - cgroup2 cgroup2 rw
garbage line
`
	mounts := parseMountinfo([]byte(mi))
	m, ok := cgroup2Mount(mounts)
	if !ok || m.MountPoint != "/sys/fs/cgroup/unified" || m.Root != "/" {
		t.Fatalf("cgroup2 mount = %+v, %v", m, ok)
	}
	if mounts[3].MountPoint != "/host cg" || mounts[3].Root != "/kubepods" {
		t.Fatalf("unescaped mount = %+v", mounts[3])
	}
	tests := []struct {
		m    mountInfo
		cg   string
		want string
		ok   bool
	}{
		{m, "/", "/sys/fs/cgroup/unified", true},
		{m, "/system.slice/ssh.service", "/sys/fs/cgroup/unified/system.slice/ssh.service", true},
		{mounts[3], "/kubepods/pod1/c1", "/host cg/pod1/c1", true},
		{mounts[3], "/kubepods", "/host cg", true},
		{mounts[3], "/kubepodsX", "", false},
		{mounts[3], "/system.slice", "", false},
	}
	for _, tc := range tests {
		got, ok := cgroupDir(tc.m, tc.cg)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cgroupDir(%+v, %q) = %q,%v; want %q,%v", tc.m, tc.cg, got, ok, tc.want, tc.ok)
		}
	}
	if p, ok := parseCgroupV2Path([]byte("4:memory:/x\n0::/user.slice/a b\n")); !ok || p != "/user.slice/a b" {
		t.Fatalf("cgroup path = %q %v", p, ok)
	}
	if _, ok := parseCgroupV2Path([]byte("4:memory:/x\n")); ok {
		t.Fatal("v1-only cgroup file gave a v2 path")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("7756 (cat) R 7753 7753 4015 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 123510 3133440"))
	f.Add([]byte("1 ((()) S 0 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 7"))
	f.Add([]byte(")("))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseStat(data)
		if err == nil && len(s.Comm) > len(data) {
			t.Fatalf("comm longer than input")
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nNSpid:\t9\t1\nCapEff:\tffffffffffffffff\n"))
	f.Add([]byte("NSpid:\nUid: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseStatus(data)
		parseFdinfoFlags(data)
		parseCmdline(data)
	})
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"), "/a/b")
	f.Add([]byte("1 2 3 /r /m\\040x\\1 o - cgroup2\n"), "/r")
	f.Fuzz(func(t *testing.T, data []byte, cg string) {
		for _, m := range parseMountinfo(data) {
			if dir, ok := cgroupDir(m, cg); ok && m.MountPoint != "" && len(dir) < len(m.MountPoint)-1 {
				t.Fatalf("cgroup dir %q outside mount %q", dir, m.MountPoint)
			}
		}
		parseCgroupV2Path(data)
	})
}
