// Package file appends alerts to a file as JSON lines (or Falco text
// lines), rotating it by size and keeping a bounded number of old files.
package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

// Fsync policies.
const (
	FsyncAlways   = "always"   // after every alert
	FsyncInterval = "interval" // every FsyncInterval when something was written
	FsyncNever    = "never"    // leave it to the kernel
)

// Config configures the file output.
type Config struct {
	Enabled bool `yaml:"enabled"`
	// Path is the file alerts are appended to.
	Path string `yaml:"path"`
	// Format is "json" (one Falco JSON object per line) or "text".
	Format string `yaml:"format"`
	// MaxSize is the size in bytes beyond which the file is rotated
	// (default 100 MiB; negative: never rotate).
	MaxSize int64 `yaml:"max_size"`
	// MaxFiles is the number of rotated files kept, Path.1 the newest,
	// Path.<MaxFiles> the oldest (DefaultConfig: 5; 0 keeps none).
	MaxFiles int `yaml:"max_files"`
	// Fsync is the sync policy: always, interval (default) or never.
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the period of the interval policy (default 1s).
	FsyncInterval time.Duration `yaml:"fsync_interval"`

	alert.Route    `yaml:",inline"`
	alert.Delivery `yaml:",inline"`
}

// DefaultConfig returns the defaults: disabled, JSON lines, rotation at
// 100 MiB keeping 5 files, fsync every second.
func DefaultConfig() Config {
	c := Config{MaxFiles: 5}.WithDefaults()
	c.Path = "/var/log/vigil/alerts.json"
	return c
}

// WithDefaults fills the zero fields (except MaxFiles) with the defaults.
func (c Config) WithDefaults() Config {
	if c.Format == "" {
		c.Format = "json"
	}
	if c.MaxSize == 0 {
		c.MaxSize = 100 << 20
	}
	if c.Fsync == "" {
		c.Fsync = FsyncInterval
	}
	if c.FsyncInterval == 0 {
		c.FsyncInterval = time.Second
	}
	return c
}

// Validate checks an enabled config; errors name the key.
func (c Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	switch {
	case c.Path == "":
		return errors.New("path: required")
	case c.Format != "" && c.Format != "json" && c.Format != "text":
		return fmt.Errorf("format: want json or text, got %q", c.Format)
	case c.MaxFiles < 0:
		return fmt.Errorf("max_files: %d is negative", c.MaxFiles)
	case c.Fsync != "" && c.Fsync != FsyncAlways && c.Fsync != FsyncInterval && c.Fsync != FsyncNever:
		return fmt.Errorf("fsync: want always, interval or never, got %q", c.Fsync)
	case c.FsyncInterval < 0:
		return fmt.Errorf("fsync_interval: %v is negative", c.FsyncInterval)
	}
	if err := c.Route.Validate(); err != nil {
		return err
	}
	return c.Delivery.Validate()
}

// Output appends alert lines to the file. It is safe for concurrent use.
type Output struct {
	cfg  Config
	f    alert.Format
	mu   sync.Mutex
	file *os.File
	size int64
	buf  []byte
	// dirty: written since the last sync (interval policy)
	dirty bool
	stop  chan struct{}
	done  chan struct{}
	// sync flushes the file to disk: (*os.File).Sync, counted in tests.
	sync func(*os.File) error
}

// New opens (or creates) the file for appending, with its directory;
// f sets the time layout of the lines.
func New(cfg Config, f alert.Format) (*Output, error) {
	return newOutput(cfg, f, (*os.File).Sync)
}

func newOutput(cfg Config, f alert.Format, sync func(*os.File) error) (*Output, error) {
	cfg = cfg.WithDefaults()
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	o := &Output{cfg: cfg, f: f, sync: sync}
	if err := o.open(); err != nil {
		return nil, err
	}
	if cfg.Fsync == FsyncInterval {
		o.stop, o.done = make(chan struct{}), make(chan struct{})
		go o.syncLoop()
	}
	return o, nil
}

func (o *Output) open() error {
	file, err := os.OpenFile(o.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("path: %w", err)
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return fmt.Errorf("path: %w", err)
	}
	o.file, o.size = file, st.Size()
	return nil
}

// Send appends a's line, rotating first when the line would take the file
// beyond MaxSize.
func (o *Output) Send(_ context.Context, a *alert.Alert) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cfg.Format == "text" {
		o.buf = o.f.AppendText(o.buf[:0], a)
	} else {
		o.buf = o.f.AppendJSON(o.buf[:0], a)
	}
	o.buf = append(o.buf, '\n')
	if o.file == nil { // a failed rotation left no file: try again
		if err := o.open(); err != nil {
			return err
		}
	}
	if o.cfg.MaxSize > 0 && o.size > 0 && o.size+int64(len(o.buf)) > o.cfg.MaxSize {
		if err := o.rotate(); err != nil {
			return err
		}
	}
	n, err := o.file.Write(o.buf)
	o.size += int64(n)
	if err != nil {
		return err
	}
	if o.cfg.Fsync == FsyncAlways {
		return o.sync(o.file)
	}
	o.dirty = true
	return nil
}

// rotate closes the file, shifts Path.i to Path.i+1 (dropping the oldest
// beyond MaxFiles), moves Path to Path.1 and opens a new Path.
func (o *Output) rotate() error {
	if o.cfg.Fsync != FsyncNever {
		_ = o.sync(o.file)
	}
	if err := o.file.Close(); err != nil {
		return err
	}
	o.file = nil
	p, keep := o.cfg.Path, o.cfg.MaxFiles
	if err := os.Remove(p + "." + strconv.Itoa(keep)); err != nil && !errors.Is(err, os.ErrNotExist) && keep > 0 {
		return err
	}
	for i := keep - 1; i >= 1; i-- {
		if err := os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if keep > 0 {
		if err := os.Rename(p, p+".1"); err != nil {
			return err
		}
	} else if err := os.Remove(p); err != nil {
		return err
	}
	return o.open()
}

func (o *Output) syncLoop() {
	defer close(o.done)
	t := time.NewTicker(o.cfg.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			o.mu.Lock()
			if o.dirty && o.file != nil {
				_ = o.sync(o.file)
				o.dirty = false
			}
			o.mu.Unlock()
		case <-o.stop:
			return
		}
	}
}

// Close syncs (unless the policy is never) and closes the file.
func (o *Output) Close(context.Context) error {
	if o.stop != nil {
		close(o.stop)
		<-o.done
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.file == nil {
		return nil
	}
	var err error
	if o.cfg.Fsync != FsyncNever {
		err = o.sync(o.file)
	}
	err = errors.Join(err, o.file.Close())
	o.file = nil
	return err
}
