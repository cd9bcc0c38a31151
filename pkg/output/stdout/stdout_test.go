package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/pkg/alert"
)

var sample = &alert.Alert{
	Time: time.Date(2026, 11, 24, 8, 30, 5, 7_000_123, time.UTC), Rule: "Shell", Priority: alert.PriorityWarning,
	Source: "syscall", Output: "shell (user=root)", Hostname: "n1", OutputFields: map[string]any{"user.name": "root"},
}

func TestLines(t *testing.T) {
	f := alert.Format{Location: time.UTC}
	var text, js bytes.Buffer
	to := New(Config{Format: "text"}, &text, f)
	jo := New(Config{Format: "json"}, &js, f)
	for range 2 {
		if err := to.Send(context.Background(), sample); err != nil {
			t.Fatal(err)
		}
		if err := jo.Send(context.Background(), sample); err != nil {
			t.Fatal(err)
		}
	}
	if want := strings.Repeat("08:30:05.007000123: Warning shell (user=root)\n", 2); text.String() != want {
		t.Errorf("text = %q, want %q", text.String(), want)
	}
	lines := strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n")
	if len(lines) != 2 || lines[0] != string(f.JSON(sample)) {
		t.Errorf("json lines = %q", lines)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m["rule"] != "Shell" {
		t.Errorf("json line %v %v", m, err)
	}
}

func TestWriteErrorReported(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // a reader that went away: writes fail with EPIPE
	defer w.Close()
	if err := New(Config{}, w, alert.Format{}).Send(context.Background(), sample); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Send = %v, want EPIPE", err)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{Enabled: true, Format: "xml"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "format:") {
		t.Errorf("err = %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Error(err)
	}
}
