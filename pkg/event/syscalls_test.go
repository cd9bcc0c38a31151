package event

import "testing"

func TestSyscallTables(t *testing.T) {
	tests := []struct {
		arch string
		typ  Type
		nr   int32
		ok   bool
	}{
		{"amd64", TypeOpenat, 257, true},
		{"amd64", TypeExecve, 59, true},
		{"amd64", TypeDup2, 33, true},
		{"amd64", TypeUmount2, 166, true},
		{"arm64", TypeOpenat, 56, true},
		{"arm64", TypeExecve, 221, true},
		{"arm64", TypeClone3, 435, true},
		{"arm64", TypeDup2, -1, false},
		{"arm64", TypeOpen, -1, false},
		{"arm64", TypeFork, -1, false},
	}
	for _, tt := range tests {
		tab, err := SyscallTableFor(tt.arch)
		if err != nil {
			t.Fatal(err)
		}
		nr, ok := tab.Nr(tt.typ)
		if nr != tt.nr || ok != tt.ok {
			t.Errorf("%s %s = %d %v, want %d %v", tt.arch, tt.typ, nr, ok, tt.nr, tt.ok)
		}
		if ok && tab.Type(nr) != tt.typ {
			t.Errorf("%s Type(%d) = %s, want %s", tt.arch, nr, tab.Type(nr), tt.typ)
		}
	}
	if _, err := SyscallTableFor("mips"); err == nil {
		t.Error("mips table found")
	}
}

// Every syscall type has a number on amd64 and an argument layout, and the
// tables are one-to-one.
func TestSyscallTablesComplete(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		tab, _ := SyscallTableFor(arch)
		seen := map[int32]Type{}
		for _, typ := range AllTypes() {
			if argLayouts[typ].fill == nil {
				t.Errorf("%s has no argument layout", typ)
			}
			nr, ok := tab.Nr(typ)
			if !ok {
				if arch == "amd64" && typ != TypeProcExit {
					t.Errorf("amd64 lacks %s", typ)
				}
				continue
			}
			if other, dup := seen[nr]; dup {
				t.Errorf("%s: %d is both %s and %s", arch, nr, other, typ)
			}
			seen[nr] = typ
			if nr >= MaxSyscall {
				t.Errorf("%s: %s = %d beyond MaxSyscall", arch, typ, nr)
			}
		}
	}
	if Tracepoint(TypeUmount2) != "umount" || Tracepoint(TypeOpenat) != "openat" {
		t.Error("tracepoint names")
	}
}

func TestCaptureSpec(t *testing.T) {
	s := CaptureSpec(TypeOpenat)
	if s.NArgs != 4 || s.StrMask != 1<<1 {
		t.Errorf("openat spec %+v", s)
	}
	if CaptureSpec(NumTypes) != (ArgSpec{}) {
		t.Error("out of range spec")
	}
}
