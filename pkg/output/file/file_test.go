package file

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

func alertN(i int) *alert.Alert {
	return &alert.Alert{
		Time: time.Unix(1_700_000_000, int64(i)).UTC(), Rule: "Shell", Priority: alert.PriorityWarning,
		Source: "syscall", Output: "shell", Hostname: "n1", OutputFields: map[string]any{"seq": int64(1000 + i)}, // fixed width: equal line lengths
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

func seqOf(t *testing.T, line string) int {
	t.Helper()
	var v struct {
		Fields struct {
			Seq int `json:"seq"`
		} `json:"output_fields"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		t.Fatalf("bad line %q: %v", line, err)
	}
	return v.Fields.Seq - 1000
}

func TestRotation(t *testing.T) {
	lineLen := int64(len(alert.Format{}.JSON(alertN(0)))) + 1
	tests := []struct {
		name     string
		maxFiles int
		fsync    string
		n        int
	}{
		{"keep 2, fsync always", 2, FsyncAlways, 100},
		{"keep 3, fsync interval", 3, FsyncInterval, 100},
		{"keep none, fsync never", 0, FsyncNever, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "sub", "alerts.json")
			const perFile = 10
			cfg := Config{Enabled: true, Path: path, MaxSize: perFile * lineLen, MaxFiles: tt.maxFiles, Fsync: tt.fsync, FsyncInterval: time.Millisecond}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			o, err := New(cfg, alert.Format{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.n {
				if err := o.Send(context.Background(), alertN(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != tt.maxFiles+1 {
				t.Errorf("%d files, want %d", len(entries), tt.maxFiles+1)
			}
			// oldest first: path.max ... path.1, path; sequence numbers follow on
			want := tt.n - (tt.maxFiles+1)*perFile
			for i := tt.maxFiles; i >= 0; i-- {
				p := path
				if i > 0 {
					p = path + "." + string(rune('0'+i))
				}
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > cfg.MaxSize {
					t.Errorf("%s is %d bytes, more than %d", p, st.Size(), cfg.MaxSize)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %v", p, st.Mode())
				}
				for _, line := range readLines(t, p) {
					if got := seqOf(t, line); got != want {
						t.Fatalf("%s: seq %d, want %d", p, got, want)
					}
					want++
				}
			}
			if want != tt.n {
				t.Errorf("last seq %d, want %d", want, tt.n)
			}
		})
	}
}

func TestAppendsToExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.log")
	if err := os.WriteFile(path, []byte("earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Enabled: true, Path: path, Format: "text", MaxSize: 1 << 20, Fsync: FsyncAlways}
	o, err := New(cfg, alert.Format{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), alertN(1)); err != nil {
		t.Fatal(err)
	}
	o.Close()
	got := readLines(t, path)
	if len(got) != 2 || got[0] != "earlier" || got[1] != "22:13:20.000000001: Warning shell" {
		t.Errorf("lines %q", got)
	}
}

func TestValidate(t *testing.T) {
	for cfg, want := range map[*Config]string{
		{Enabled: true}: "path:",
		{Enabled: true, Path: "x", Fsync: "sometimes"}: "fsync:",
		{Enabled: true, Path: "x", Format: "xml"}:      "format:",
		{Enabled: true, Path: "x", MaxFiles: -1}:       "max_files:",
	} {
		if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Validate(%+v) = %v, want %q", cfg, err, want)
		}
	}
	c := DefaultConfig()
	c.Enabled = true
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
