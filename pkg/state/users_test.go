package state

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUsers(t *testing.T) {
	u, err := NewUsers("testdata/root")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uid   uint32
		want  User
		found bool
	}{
		{0, User{Name: "root", Home: "/root", Shell: "/bin/bash"}, true},
		{1000, User{Name: "alice", Home: "/home/alice", Shell: "/bin/zsh"}, true},
		{4242, User{}, false},
	}
	for _, tc := range tests {
		got, ok := u.User(tc.uid)
		if got != tc.want || ok != tc.found {
			t.Errorf("User(%d) = %+v,%v; want %+v,%v", tc.uid, got, ok, tc.want, tc.found)
		}
	}
	if n, ok := u.GroupName(4); !ok || n != "adm" {
		t.Fatalf("GroupName(4) = %q,%v", n, ok)
	}
	if _, ok := u.GroupName(9); ok {
		t.Fatal("unknown gid found")
	}
	if n, _ := u.UserName(1); n != "daemon" {
		t.Fatalf("UserName(1) = %q", n)
	}
}

func TestUsersReload(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(etc, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "a:x:5:5::/:/bin/sh\n")
	if _, err := NewUsers(root); err == nil {
		t.Fatal("missing /etc/group not reported")
	}
	write("group", "g:x:5:\n")
	u, err := NewUsers(root)
	if err != nil {
		t.Fatal(err)
	}
	write("passwd", "b:x:5:5::/:/bin/sh\n")
	if err := u.Reload(); err != nil {
		t.Fatal(err)
	}
	if n, _ := u.UserName(5); n != "b" {
		t.Fatalf("after reload UserName(5) = %q", n)
	}
	if err := os.Remove(filepath.Join(etc, "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := u.Reload(); err == nil {
		t.Fatal("missing passwd not reported")
	}
	if n, _ := u.UserName(5); n != "b" {
		t.Fatalf("failed reload dropped the table: %q", n)
	}
}

func TestHostUsers(t *testing.T) {
	u, err := NewUsers("/")
	if err != nil {
		t.Skipf("host account files: %v", err)
	}
	if n, ok := u.UserName(0); !ok || n != "root" {
		t.Fatalf("uid 0 = %q,%v", n, ok)
	}
}

func FuzzParsePasswd(f *testing.F) {
	data, err := os.ReadFile("testdata/root/etc/passwd")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("::::::\n:x:1:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for uid, u := range ParsePasswd(data) {
			if u.Name == "" {
				t.Fatalf("uid %d with empty name", uid)
			}
		}
		ParseGroup(data)
	})
}

// TestUsersConcurrentReload reads names while another goroutine reloads
// (run with -race).
func TestUsersConcurrentReload(t *testing.T) {
	u, err := NewUsers("testdata/root")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ {
			if err := u.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 1000; i++ {
		if n, ok := u.UserName(0); !ok || n != "root" {
			t.Fatalf("UserName(0) = %q,%v during reload", n, ok)
		}
	}
	<-done
}
