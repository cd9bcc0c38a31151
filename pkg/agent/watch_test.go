package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestWatchFilesDebouncesChanges(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules.d")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- watchFiles(ctx, []string{file, rulesDir}, nil, 50*time.Millisecond, zap.NewNop(), func(r string) { reloads <- r })
	}()
	time.Sleep(100 * time.Millisecond) // let the watcher register

	// Three quick writes, like an editor saving: one reload.
	for i := 0; i < 3; i++ {
		if err := os.WriteFile(file, []byte("a: 2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-reloads:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after a config change")
	}
	select {
	case r := <-reloads:
		t.Fatalf("second reload for one burst: %s", r)
	case <-time.After(200 * time.Millisecond):
	}

	// A new file in a rules directory: a reload naming it.
	newRules := filepath.Join(rulesDir, "extra.yaml")
	if err := os.WriteFile(newRules, []byte("- list: x\n  items: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reloads:
		if r != "file changed: "+newRules {
			t.Fatalf("reason = %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after a new rules file")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWatchFilesFollowsUpdates switches the watched rules file to another
// directory, as a reload does when the config names other files: edits in
// the new directory reload, edits in the old one no longer do.
func TestWatchFilesFollowsUpdates(t *testing.T) {
	oldDir, newDir := t.TempDir(), t.TempDir()
	oldFile, newFile := filepath.Join(oldDir, "rules.yaml"), filepath.Join(newDir, "rules.yaml")
	for _, f := range []string{oldFile, newFile} {
		if err := os.WriteFile(f, []byte("[]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reloads := make(chan string, 10)
	updates := make(chan []string)
	done := make(chan error, 1)
	go func() {
		done <- watchFiles(ctx, []string{oldFile}, updates, 50*time.Millisecond, zap.NewNop(), func(r string) { reloads <- r })
	}()
	updates <- []string{newFile} // taken once the old set is watched
	time.Sleep(100 * time.Millisecond)

	if err := os.WriteFile(oldFile, []byte("[] # old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reloads:
		t.Fatalf("a file no longer watched reloaded: %s", r)
	case <-time.After(300 * time.Millisecond):
	}
	if err := os.WriteFile(newFile, []byte("[] # new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-reloads:
		if r != "file changed: "+newFile {
			t.Fatalf("reason = %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after a change of the newly watched file")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWatchPaths(t *testing.T) {
	for _, tc := range []struct {
		name       string
		files      []string
		watchRules bool
		config     string
		want       []string
	}{
		{"rules and config", []string{"/r/a.yaml", "/r/d"}, true, "/etc/vigil/config.yaml", []string{"/r/a.yaml", "/r/d", "/etc/vigil/config.yaml"}},
		{"rules.watch off keeps the config", []string{"/r/a.yaml"}, false, "/etc/vigil/config.yaml", []string{"/etc/vigil/config.yaml"}},
		{"no config file", []string{"/r/a.yaml"}, true, "", []string{"/r/a.yaml"}},
		{"default rules, no config", nil, true, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := watchPaths(tc.files, tc.watchRules, tc.config); !slices.Equal(got, tc.want) {
				t.Errorf("watchPaths = %v, want %v", got, tc.want)
			}
		})
	}
}
