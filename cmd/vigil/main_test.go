package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	saved := version
	version = "1.2.3-test"
	defer func() { version = saved }()
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // a substring of stdout
		stderr     string // a substring of stderr
		stdoutLine bool   // stdout must be exactly that one line
	}{
		{args: []string{"version"}, code: 0, stdout: "vigil 1.2.3-test (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n", stdoutLine: true},
		{args: []string{"help"}, code: 0, stdout: "Commands:"},
		{args: nil, code: 2, stdout: "Usage: vigil <command>"},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"run", "extra"}, code: 2, stderr: "unexpected arguments [extra]"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := dispatch(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if tc.stdoutLine && stdout.String() != tc.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.stderr)
			}
		})
	}
	// Every command the usage lists is dispatched.
	var usageOut bytes.Buffer
	usage(&usageOut)
	for _, name := range []string{"run", "rules validate", "rules list", "fields", "capture", "replay", "version"} {
		if _, ok := commands[name]; !ok || !strings.Contains(usageOut.String(), name) {
			t.Errorf("command %q missing from the commands or the usage", name)
		}
	}
}
