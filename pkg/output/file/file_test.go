package file

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
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
			if err := o.Close(context.Background()); err != nil {
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
	o.Close(context.Background())
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

// syncCounter counts the syncs of an output: it is the output's sync hook,
// and really syncs.
type syncCounter struct{ n atomic.Int64 }

func (c *syncCounter) sync(f *os.File) error {
	c.n.Add(1)
	return f.Sync()
}

// TestFsyncPolicy counts the syncs each policy makes: always after every
// alert and at Close; interval once per period that saw writes (none while
// idle) and at Close; never not at all, not even at rotation or Close.
func TestFsyncPolicy(t *testing.T) {
	lineLen := int64(len(alert.Format{}.JSON(alertN(0)))) + 1
	tests := []struct {
		name    string
		fsync   string
		maxSize int64
		sends   int
	}{
		{"always", FsyncAlways, 1 << 20, 5},
		{"always, rotating", FsyncAlways, 2 * lineLen, 5},
		{"interval", FsyncInterval, 1 << 20, 5},
		{"never", FsyncNever, 1 << 20, 5},
		{"never, rotating", FsyncNever, 2 * lineLen, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c syncCounter
			cfg := Config{Enabled: true, Path: filepath.Join(t.TempDir(), "alerts.json"), MaxSize: tt.maxSize, MaxFiles: 1,
				Fsync: tt.fsync, FsyncInterval: 10 * time.Millisecond}
			o, err := newOutput(cfg, alert.Format{}, c.sync)
			if err != nil {
				t.Fatal(err)
			}
			rotations := 0
			for i := range tt.sends {
				if err := o.Send(context.Background(), alertN(i)); err != nil {
					t.Fatal(err)
				}
				if tt.maxSize < 1<<20 && i > 0 && i%2 == 0 {
					rotations++ // the third, fifth ... line starts a new file
				}
			}
			var want int64
			switch tt.fsync {
			case FsyncAlways:
				want = int64(tt.sends + rotations)
				if got := c.n.Load(); got != want {
					t.Errorf("%d syncs after %d alerts and %d rotations, want %d", got, tt.sends, rotations, want)
				}
			case FsyncInterval:
				// the writes took one period, or a few on a busy machine
				synced := waitSynced(t, o, &c)
				if synced < 1 || synced > int64(tt.sends) {
					t.Errorf("%d syncs for %d writes", synced, tt.sends)
				}
				time.Sleep(50 * time.Millisecond) // five idle periods
				if got := c.n.Load(); got != synced {
					t.Errorf("%d syncs after idle periods, want still %d", got, synced)
				}
				if err := o.Send(context.Background(), alertN(99)); err != nil {
					t.Fatal(err)
				}
				if got := waitSynced(t, o, &c); got != synced+1 {
					t.Errorf("%d syncs after one more write, want %d", got, synced+1)
				}
				want = synced + 1
			}
			if err := o.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tt.fsync != FsyncNever {
				want++ // Close syncs
			}
			if got := c.n.Load(); got != want {
				t.Errorf("%d syncs after Close, want %d", got, want)
			}
		})
	}
}

// waitSynced waits until the interval policy synced what was written (and
// so will not sync again until the next write), and returns the syncs.
func waitSynced(t *testing.T, o *Output, c *syncCounter) int64 {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		o.mu.Lock()
		dirty := o.dirty
		o.mu.Unlock()
		if !dirty {
			return c.n.Load()
		}
		if time.Now().After(deadline) {
			t.Fatal("no sync within the interval after writing")
		}
	}
}
