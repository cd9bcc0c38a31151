package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

var eventTime = time.Date(2026, 11, 24, 8, 30, 5, 7_000_123, time.UTC)

// sampleAlerts are the formatting cases, by golden file name.
func sampleAlerts() map[string]*Alert {
	return map[string]*Alert{
		"container": {
			Time:     eventTime,
			Rule:     "Terminal shell in container",
			Priority: PriorityNotice,
			Source:   "syscall",
			Output:   "A shell was spawned in a container with an attached terminal (evt_type=execve user=root process=bash container_id=3ad7b26ded6d)",
			Tags:     []string{"maturity_stable", "container", "shell", "mitre_execution", "T1059"},
			Hostname: "node-1",
			OutputFields: map[string]any{
				"evt.type":                "execve",
				"user.name":               "root",
				"user.uid":                uint32(0),
				"proc.name":               "bash",
				"proc.pid":                int64(4242),
				"proc.aname[2]":           "containerd-shim",
				"proc.tty":                int64(34816),
				"container.id":            "3ad7b26ded6d",
				"k8s.ns.name":             "team-a",
				"proc.is_exe_upper_layer": false,
			},
			Tenant:      "tenant-a",
			Namespace:   "team-a",
			Pod:         "web-7d4b9c-x2x9q",
			ContainerID: "3ad7b26ded6d",
		},
		"host": {
			Time:     eventTime,
			Rule:     "Read sensitive file untrusted",
			Priority: PriorityWarning,
			Source:   "syscall",
			Output:   "Sensitive file opened for reading by non-trusted program (file=/etc/shadow gparent=<NA> ggparent=<NA>)",
			Tags:     []string{"maturity_stable", "host", "filesystem", "mitre_credential_access", "T1555"},
			Hostname: "node-1",
			OutputFields: map[string]any{
				"fd.name":       "/etc/shadow",
				"proc.aname[2]": nil,
				"proc.aname[3]": nil,
				"proc.args":     []string{"-n", "/etc/shadow"},
			},
		},
		"info_escapes": {
			Time:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Rule:     `Rule with "quotes" \ and <html> & more`,
			Priority: PriorityInformational,
			Source:   "syscall",
			Output:   "line1\nline2\ttab \x01 ctrl \xff bad utf8 é ✓ \u2028",
			Tags:     []string{"b", "a", "b"},
			Hostname: "node/1",
			OutputFields: map[string]any{
				"evt.time":  int64(42), // the rule's own token: the prefix's value wins, as in Falco
				"fd.rip":    "10.0.0.1",
				"evt.count": float64(3),
				"cpu":       0.25,
				"big":       uint64(18446744073709551615),
				"neg":       int32(-7),
			},
		},
		"no_fields": {
			Time:     time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			Rule:     "Empty",
			Priority: PriorityDebug,
			Source:   "syscall",
			Output:   "",
			Hostname: "",
		},
	}
}

func TestFormatGolden(t *testing.T) {
	formats := map[string]Format{
		"":         {Location: time.UTC},
		".iso8601": {ISO8601: true},
	}
	for name, a := range sampleAlerts() {
		for suffix, f := range formats {
			t.Run(name+suffix, func(t *testing.T) {
				js := f.AppendJSON(nil, a)
				if !json.Valid(js) {
					t.Fatalf("invalid JSON: %s", js)
				}
				golden(t, name+suffix+".json.golden", append(js, '\n'))
				golden(t, name+suffix+".txt.golden", append(f.AppendText(nil, a), '\n'))
			})
		}
	}
}

// TestJSONFalcoShape decodes the JSON with the standard library and checks
// the parts that consumers of Falco's json_output rely on.
func TestJSONFalcoShape(t *testing.T) {
	a := sampleAlerts()["container"]
	var got map[string]any
	if err := json.Unmarshal(Format{Location: time.UTC}.JSON(a), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time", "tenant", "k8s"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	if got["time"] != "2026-11-24T08:30:05.007000123Z" {
		t.Errorf("time = %v", got["time"])
	}
	if got["output"] != "08:30:05.007000123: Notice "+a.Output {
		t.Errorf("output = %v", got["output"])
	}
	fields := got["output_fields"].(map[string]any)
	if fields["evt.time"] != float64(a.Time.UnixNano()) {
		t.Errorf("evt.time = %v", fields["evt.time"])
	}
	if len(fields) != len(a.OutputFields)+1 {
		t.Errorf("output_fields has %d keys, want %d", len(fields), len(a.OutputFields)+1)
	}
	tags := got["tags"].([]any)
	if tags[0] != "T1059" || tags[len(tags)-1] != "shell" {
		t.Errorf("tags not sorted: %v", tags)
	}
	if m, err := a.MarshalJSON(); err != nil || !json.Valid(m) {
		t.Errorf("MarshalJSON: %v %s", err, m)
	}
}

func TestTextLocalTime(t *testing.T) {
	loc := time.FixedZone("X", 2*3600)
	a := &Alert{Time: eventTime, Priority: PriorityCritical, Output: "out"}
	if got, want := (Format{Location: loc}).Text(a), "10:30:05.007000123: Critical out"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got, want := (Format{ISO8601: true}).Text(a), "2026-11-24T08:30:05.007000123+0000: Critical out"; got != want {
		t.Errorf("ISO text = %q, want %q", got, want)
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"}, {1e6, "1000000.0"},
		{1e15, "1e+15"}, {1e20, "1e+20"}, {1e-7, "1e-07"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.in)); got != tt.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzAppendJSON checks that any strings produce valid JSON that decodes
// back to the same strings (invalid UTF-8 replaced by U+FFFD).
func FuzzAppendJSON(f *testing.F) {
	f.Add("rule", "out\n\"x\"", "tag", "field", "value", "tenant")
	f.Add("\xff\xfe", "\x00\x1f\x7f", "\u2028", "a[1]", "<NA>", "")
	f.Fuzz(func(t *testing.T, rule, output, tag, key, value, tenant string) {
		a := &Alert{
			Time: eventTime, Rule: rule, Priority: PriorityError, Source: "syscall",
			Output: output, Tags: []string{tag}, Hostname: "h",
			OutputFields: map[string]any{key: value}, Tenant: tenant, Pod: value,
		}
		js := Format{Location: time.UTC}.AppendJSON(nil, a)
		var got struct {
			Rule   string            `json:"rule"`
			Output string            `json:"output"`
			Tags   []string          `json:"tags"`
			Fields map[string]any    `json:"output_fields"`
			Tenant string            `json:"tenant"`
			K8s    map[string]string `json:"k8s"`
		}
		if err := json.Unmarshal(js, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", js, err)
		}
		if got.Rule != strings.ToValidUTF8(rule, "\uFFFD") && utf8.ValidString(rule) {
			t.Errorf("rule %q became %q", rule, got.Rule)
		}
		if utf8.ValidString(output) && !strings.HasSuffix(got.Output, " "+output) {
			t.Errorf("output %q became %q", output, got.Output)
		}
		if utf8.ValidString(tenant) && got.Tenant != tenant {
			t.Errorf("tenant %q became %q", tenant, got.Tenant)
		}
		if utf8.ValidString(key) && utf8.ValidString(value) && key != "evt.time" && key != "evt.time.iso8601" && got.Fields[key] != value {
			t.Errorf("field %q=%q became %v", key, value, got.Fields[key])
		}
	})
}
