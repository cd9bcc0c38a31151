package agent

import (
	"context"
	"os"
	"path/filepath"
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
		done <- watchFiles(ctx, []string{file, rulesDir}, 50*time.Millisecond, zap.NewNop(), func(r string) { reloads <- r })
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
