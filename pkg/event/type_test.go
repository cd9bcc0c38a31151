package event

import "testing"

func TestTypeNamesRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range AllTypes() {
		name := typ.String()
		if name == "" || name == "unknown" {
			t.Fatalf("type %d has no name", typ)
		}
		if seen[name] {
			t.Fatalf("name %q used twice", name)
		}
		seen[name] = true
		back, ok := TypeByName(name)
		if !ok || back != typ {
			t.Fatalf("TypeByName(%q) = %v, %v; want %v", name, back, ok, typ)
		}
	}
	if _, ok := TypeByName("nosuchsyscall"); ok {
		t.Fatal("unknown name resolved")
	}
	if got := NumTypes.String(); got != "unknown" {
		t.Fatalf("out of range type = %q", got)
	}
}

func TestProcessAncestryAndCmdLine(t *testing.T) {
	gp := &Process{Pid: 1, Name: "init"}
	p := &Process{Pid: 2, Name: "bash", Parent: gp}
	c := &Process{Pid: 3, Name: "cat", Args: []string{"/etc/shadow", "-n"}, Parent: p}
	tests := []struct {
		n    int
		want *Process
	}{{0, c}, {1, p}, {2, gp}, {3, nil}}
	for _, tt := range tests {
		if got := c.Ancestor(tt.n); got != tt.want {
			t.Errorf("Ancestor(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
	if got := c.CmdLine(); got != "cat /etc/shadow -n" {
		t.Errorf("CmdLine = %q", got)
	}
}

func TestFDTypeNames(t *testing.T) {
	tests := []struct {
		t    FDType
		char byte
		name string
	}{
		{FDFile, 'f', "file"}, {FDDirectory, 'd', "directory"}, {FDIPv4, '4', "ipv4"},
		{FDIPv6, '6', "ipv6"}, {FDUnix, 'u', "unix"}, {FDPipe, 'p', "pipe"}, {FDUnknown, '?', "unknown"},
	}
	for _, tt := range tests {
		if c := tt.t.TypeChar(); c != tt.char {
			t.Errorf("%v TypeChar = %c, want %c", tt.t, c, tt.char)
		}
		if n := tt.t.String(); n != tt.name {
			t.Errorf("%d String = %q, want %q", tt.t, n, tt.name)
		}
	}
}
