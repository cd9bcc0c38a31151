package agent

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watchFiles calls reload after any change under paths (rules files, rules
// directories, the config file), debounced by quiet so that an editor's
// write-rename dance or a ConfigMap's symlink swap triggers one reload. It
// watches each file's directory, since editors and Kubernetes replace files
// rather than write them in place. A value received on updates replaces the
// watched paths (a reload that switched rules files). It returns when ctx
// ends.
func watchFiles(ctx context.Context, paths []string, updates <-chan []string, quiet time.Duration, log *zap.Logger, reload func(reason string)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	watched := map[string]bool{}
	watchDirs(w, watched, paths, log)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	pending := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-updates:
			watchDirs(w, watched, p, log)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			pending = ev.Name
			timer.Reset(quiet)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			log.Warn("file watch error", zap.Error(err))
		case <-timer.C:
			reload("file changed: " + pending)
		}
	}
}

// watchDirs makes w watch the directories paths need (a directory itself,
// a file's parent) and no other, updating watched.
func watchDirs(w *fsnotify.Watcher, watched map[string]bool, paths []string, log *zap.Logger) {
	want := map[string]bool{}
	for _, p := range paths {
		dir := p
		if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
			dir = filepath.Dir(p)
		}
		want[filepath.Clean(dir)] = true
	}
	for dir := range watched {
		if !want[dir] {
			_ = w.Remove(dir)
			delete(watched, dir)
		}
	}
	for dir := range want {
		if watched[dir] {
			continue
		}
		if err := w.Add(dir); err != nil {
			log.Warn("cannot watch for changes", zap.String("path", dir), zap.Error(err))
			continue
		}
		watched[dir] = true
	}
}
