package state

import (
	"net/netip"
	"testing"

	"github.com/vigilsec/vigil/pkg/event"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func TestFDName(t *testing.T) {
	tests := []struct {
		name string
		fd   *event.FD
		want string
	}{
		{"nil", nil, ""},
		{"file", &event.FD{Type: event.FDFile, Name: "/etc/passwd"}, "/etc/passwd"},
		{"unix", &event.FD{Type: event.FDUnix, Name: "/run/containerd.sock"}, "/run/containerd.sock"},
		{"ipv4 client", &event.FD{Type: event.FDIPv4, Local: ap("10.0.0.2:40000"), Remote: ap("1.2.3.4:443"), Connected: true}, "10.0.0.2:40000->1.2.3.4:443"},
		{"ipv4 server", &event.FD{Type: event.FDIPv4, Local: ap("10.0.0.2:22"), Remote: ap("1.2.3.4:50000"), Connected: true, Server: true}, "1.2.3.4:50000->10.0.0.2:22"},
		{"ipv6 without brackets", &event.FD{Type: event.FDIPv6, Local: ap("[::1]:40000"), Remote: ap("[fe80::1]:80"), Connected: true}, "::1:40000->fe80::1:80"},
		{"unknown local end", &event.FD{Type: event.FDIPv4, Remote: ap("1.2.3.4:80"), Connected: true}, "0.0.0.0:0->1.2.3.4:80"},
		{"listening", &event.FD{Type: event.FDIPv6, Local: ap("[::]:8080"), Server: true}, ":::8080"},
		{"fresh socket", &event.FD{Type: event.FDIPv4}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FDName(tc.fd); got != tc.want {
				t.Fatalf("FDName = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFDDirectoryFilename(t *testing.T) {
	tests := []struct {
		fd            *event.FD
		dir, file     string
		dirOK, fileOK bool
	}{
		{&event.FD{Type: event.FDFile, Name: "/var/log/syslog"}, "/var/log", "syslog", true, true},
		{&event.FD{Type: event.FDFile, Name: "/init"}, "/", "init", true, true},
		{&event.FD{Type: event.FDDirectory, Name: "/var/log"}, "/var/log", "", true, false},
		{&event.FD{Type: event.FDMemfd, Name: "memfd:x"}, "/", "/", true, true},
		{&event.FD{Type: event.FDIPv4}, "", "", false, false},
		{nil, "", "", false, false},
	}
	for _, tc := range tests {
		d, dok := FDDirectory(tc.fd)
		f, fok := FDFilename(tc.fd)
		if d != tc.dir || dok != tc.dirOK || f != tc.file || fok != tc.fileOK {
			t.Errorf("%+v: directory %q,%v filename %q,%v; want %q,%v %q,%v", tc.fd, d, dok, f, fok, tc.dir, tc.dirOK, tc.file, tc.fileOK)
		}
	}
}

func TestL4Proto(t *testing.T) {
	tests := []struct {
		fd   *event.FD
		want string
	}{
		{&event.FD{Type: event.FDIPv4, SockType: sockStream}, "tcp"},
		{&event.FD{Type: event.FDIPv6, SockType: sockDgram}, "udp"},
		{&event.FD{Type: event.FDIPv4, SockType: sockRaw, Protocol: ipprotoICMP}, "icmp"},
		{&event.FD{Type: event.FDIPv4, SockType: sockRaw, Protocol: 255}, "raw"},
		{&event.FD{Type: event.FDUnix, SockType: sockStream}, ""},
	}
	for _, tc := range tests {
		if got := L4Proto(tc.fd); got != tc.want {
			t.Errorf("%+v: L4Proto = %q, want %q", tc.fd, got, tc.want)
		}
	}
}

func TestEndpointsWithoutRole(t *testing.T) {
	if _, _, ok := Endpoints(&event.FD{Type: event.FDIPv4, Local: ap("0.0.0.0:80"), Server: true}); ok {
		t.Fatal("a listening socket has no client end")
	}
}

func TestSessionLeaderAndDuration(t *testing.T) {
	init := &event.Process{Pid: 1, SID: 1}
	sshd := &event.Process{Pid: 50, SID: 50, Name: "sshd", Parent: init}
	bash := &event.Process{Pid: 60, SID: 60, Name: "bash", Parent: sshd, StartTS: 100}
	vim := &event.Process{Pid: 70, SID: 60, Name: "vim", Parent: bash}
	orphan := &event.Process{Pid: 80, SID: 77, Name: "x", Parent: &event.Process{Pid: 79, SID: 77, Name: "eldest", Parent: init}}
	tests := []struct {
		p    *event.Process
		want *event.Process
	}{
		{vim, bash}, {bash, bash}, {orphan, orphan.Parent}, {&event.Process{Pid: 9}, nil}, {nil, nil},
	}
	for _, tc := range tests {
		if got := SessionLeader(tc.p); got != tc.want {
			t.Errorf("SessionLeader(%+v) = %+v, want %+v", tc.p, got, tc.want)
		}
	}
	if Duration(bash, 150) != 50 || Duration(vim, 150) != 0 || Duration(bash, 50) != 0 {
		t.Fatal("Duration")
	}
}
