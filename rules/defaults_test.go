package rules_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/pkg/testutil"
	"github.com/vigilsec/vigil/rules"
)

// item is one top-level entry of a rules file, as far as these checks need it.
type item struct {
	Rule       string               `yaml:"rule"`
	Macro      string               `yaml:"macro"`
	List       string               `yaml:"list"`
	Desc       string               `yaml:"desc"`
	Condition  string               `yaml:"condition"`
	Output     string               `yaml:"output"`
	Priority   string               `yaml:"priority"`
	Tags       []string             `yaml:"tags"`
	Enabled    *bool                `yaml:"enabled"`
	Override   map[string]string    `yaml:"override"`
	Exceptions []exceptionItem      `yaml:"exceptions"`
	Items      []any                `yaml:"items"`
	Extra      map[string]yaml.Node `yaml:",inline"`
}

type exceptionItem struct {
	Name   string   `yaml:"name"`
	Fields []string `yaml:"fields"`
	Values [][]any  `yaml:"values"`
}

func readItems(t *testing.T, path string) []item {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var items []item
	if err := yaml.Unmarshal(data, &items); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return items
}

func defaultItems(t *testing.T) []item {
	t.Helper()
	var all []item
	for _, f := range rules.DefaultFiles() {
		all = append(all, readItems(t, f)...)
	}
	return all
}

// knownFields are the field names the default rules may use: those of
// Falco's stable rules (../shared/falco/stable-rules-needs.md), Falco's common
// output fields, and Vigil's workload and tenancy fields. A typo in a rule
// shows up here before any loader sees it.
var knownFields = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`
		evt.type evt.num evt.res evt.rawres evt.args evt.arg.flags evt.arg.target evt.arg.linkpath
		evt.arg.oldpath evt.arg.newpath evt.arg.domain evt.arg.request evt.is_open_read evt.is_open_write
		proc.name proc.pid proc.pname proc.aname proc.exe proc.exepath proc.pexe proc.pexepath proc.aexepath
		proc.args proc.cmdline proc.pcmdline proc.cwd proc.tty proc.sname proc.duration
		proc.is_exe_upper_layer proc.is_exe_from_memfd proc.exe_ino.ctime proc.exe_ino.mtime
		proc.exe_ino.ctime_duration_proc_start thread.cap_effective
		user.name user.uid user.loginuid user.loginname group.gid group.name
		fd.num fd.name fd.nameraw fd.type fd.typechar fd.directory fd.filename fd.l4proto fd.lport fd.rport
		fd.sport fd.sip fd.sip.name fd.ip fd.net fd.snet fd.connected fd.name_changed
		container.id container.image.repository container.privileged container.start_ts
		k8s.ns.name k8s.pod.name k8s.pod.uid k8s.ns.label k8s.pod.label
		tenant.name fd.rip.tenant fd.rip.k8s.ns fd.rip.k8s.pod`) {
		knownFields[f] = true
	}
}

var (
	fieldRE  = regexp.MustCompile(`(?:^|[^\w.%])((?:evt|proc|thread|fd|user|group|container|k8s|tenant)\.[a-z0-9_.]*[a-z0-9_])`)
	outputRE = regexp.MustCompile(`%([a-z0-9_.]+)`)
	quotedRE = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	mitreRE  = regexp.MustCompile(`^T[0-9]{4}(\.[0-9]{3})?$`)
)

var priorities = map[string]bool{"EMERGENCY": true, "ALERT": true, "CRITICAL": true, "ERROR": true,
	"WARNING": true, "NOTICE": true, "INFORMATIONAL": true, "INFO": true, "DEBUG": true}

// workloadTokens must end every default rule's output, so that every alert
// can be filtered and routed the same way.
var workloadTokens = []string{"tenant=%tenant.name", "k8s.ns=%k8s.ns.name", "k8s.pod=%k8s.pod.name", "container=%container.id"}

// hookRE matches the names of the tuning hooks the rules file documents:
// `*_expected` macros (activity that is normal in a cluster, default
// vigil_never) and `*_scope` macros (where a rule looks).
var hookRE = regexp.MustCompile(`^[a-z0-9_]+_(expected|scope)$`)

func TestDefaultRulesAreComplete(t *testing.T) {
	items := defaultItems(t)
	hooks := map[string]bool{}
	for _, it := range items {
		if it.Macro != "" && hookRE.MatchString(it.Macro) {
			hooks[it.Macro] = true
		}
	}
	seen := map[string]bool{}
	nrules := 0
	for _, it := range items {
		name := it.Rule + it.Macro + it.List
		kind := "rule"
		switch {
		case it.Macro != "":
			kind = "macro"
		case it.List != "":
			kind = "list"
		}
		if name == "" {
			t.Errorf("item without rule/macro/list name: %+v", it)
			continue
		}
		if seen[kind+" "+name] {
			t.Errorf("%s %q defined twice", kind, name)
		}
		seen[kind+" "+name] = true
		if len(it.Extra) > 0 || it.Override != nil {
			keys := make([]string, 0, len(it.Extra))
			for k := range it.Extra {
				keys = append(keys, k)
			}
			t.Errorf("%s %q: unexpected keys %v (override %v)", kind, name, keys, it.Override)
		}
		checkFields(t, name, it.Condition)
		if it.Rule == "" {
			continue
		}
		nrules++
		t.Run(it.Rule, func(t *testing.T) {
			if len(strings.Fields(it.Desc)) < 8 {
				t.Errorf("desc too short: %q", it.Desc)
			}
			if !priorities[strings.ToUpper(it.Priority)] {
				t.Errorf("priority %q", it.Priority)
			}
			var tactic, technique bool
			for _, tag := range it.Tags {
				tactic = tactic || strings.HasPrefix(tag, "mitre_")
				technique = technique || mitreRE.MatchString(tag)
			}
			if !tactic || !technique {
				t.Errorf("tags %v: want a mitre_* tactic and a T#### technique", it.Tags)
			}
			if !strings.Contains(it.Condition, "evt.type") && !strings.Contains(it.Condition, "vigil_exec") &&
				!strings.Contains(it.Condition, "vigil_connect_ok") && !strings.Contains(it.Condition, "vigil_open_for") &&
				!strings.Contains(it.Condition, "vigil_file_opened") {
				t.Errorf("condition does not restrict the event type: %s", it.Condition)
			}
			// Every rule can be tuned from a later file without editing
			// this one: its condition calls a hook macro.
			var hooked []string
			for _, w := range regexp.MustCompile(`[a-z0-9_]+`).FindAllString(quotedRE.ReplaceAllString(it.Condition, `""`), -1) {
				if hooks[w] {
					hooked = append(hooked, w)
				}
			}
			if len(hooked) == 0 {
				t.Errorf("condition calls no *_expected or *_scope macro users can override: %s", it.Condition)
			}
			out := strings.Join(strings.Fields(it.Output), " ")
			if !strings.HasSuffix(out, strings.Join(workloadTokens, " ")) {
				t.Errorf("output must end with %q: %q", strings.Join(workloadTokens, " "), out)
			}
			if !strings.Contains(out, " | ") {
				t.Errorf("output has no summary: %q", out)
			}
			for _, m := range outputRE.FindAllStringSubmatch(out, -1) {
				if !knownFields[m[1]] {
					t.Errorf("output field %%%s is not a known field", m[1])
				}
			}
		})
	}
	if nrules < 20 {
		t.Errorf("only %d rules", nrules)
	}
}

func checkFields(t *testing.T, name, cond string) {
	t.Helper()
	bare := quotedRE.ReplaceAllString(cond, `""`)
	for _, m := range fieldRE.FindAllStringSubmatch(bare, -1) {
		if !knownFields[m[1]] {
			t.Errorf("%s: condition uses unknown field %q", name, m[1])
		}
	}
}

// TestBehavioursCovered names, for each behaviour the default rules must
// detect, the rule that detects it.
func TestBehavioursCovered(t *testing.T) {
	behaviours := []struct{ behaviour, rule string }{
		{"shell in a container", "Interactive shell in container"},
		{"shell below a server", "Shell spawned by a server process"},
		{"sensitive file read", "Sensitive file read by unexpected program"},
		{"write below binary dir", "Write below binary directory"},
		{"write below etc", "Write below /etc directory"},
		{"log clearing", "Log file cleared"},
		{"symlink over sensitive file", "Symlink to sensitive file"},
		{"hardlink over sensitive file", "Hardlink to sensitive file"},
		{"packet socket", "Packet socket opened in container"},
		{"stdin/stdout to a socket", "Standard stream redirected to network socket"},
		{"kernel module loading", "Kernel module loaded"},
		{"ptrace attach", "Process attached with ptrace"},
		{"ptrace anti-debug", "Anti-debugging with ptrace"},
		{"execution from /dev/shm", "Program executed from shared memory"},
		{"fileless execution via memfd", "Fileless program execution"},
		{"dropped and executed binary", "Dropped binary executed in container"},
		{"ssh on a non-standard port", "SSH connection to non-standard port"},
		{"k8s API contact from a container", "Kubernetes API contacted from container"},
		{"credential search", "Search for credentials"},
		{"cross-tenant connection", "Connection to another tenant's pod"},
		{"another pod's volumes via host path", "Host path access to another pod's volumes"},
	}
	names := map[string]item{}
	for _, it := range defaultItems(t) {
		if it.Rule != "" {
			names[it.Rule] = it
		}
	}
	for _, b := range behaviours {
		it, ok := names[b.rule]
		if !ok {
			t.Errorf("%s: rule %q missing", b.behaviour, b.rule)
			continue
		}
		if it.Enabled != nil && !*it.Enabled {
			t.Errorf("%s: rule %q disabled by default", b.behaviour, b.rule)
		}
	}
	// The tenant rules must use Vigil's tenancy fields.
	for rule, want := range map[string][]string{
		"Connection to another tenant's pod":        {"tenant.name", "fd.rip.tenant", "val(tenant.name)", "%fd.rip.k8s.ns"},
		"Host path access to another pod's volumes": {"kubelet_pod_volume_path", "val(k8s.pod.uid)"},
	} {
		it := names[rule]
		for _, w := range want {
			if !strings.Contains(it.Condition+it.Output, w) {
				t.Errorf("%s: does not use %s", rule, w)
			}
		}
	}
}

// TestTenantOverridesExample checks that every item of the example that
// changes a default names something the defaults define, and that appended
// exceptions either extend a defined exception or define their fields.
func TestTenantOverridesExample(t *testing.T) {
	defs := map[string]item{}
	for _, it := range defaultItems(t) {
		defs[it.Rule+"\x00"+it.Macro+"\x00"+it.List] = it
	}
	var overrides, disables, newRules int
	for _, it := range readItems(t, "tenant-overrides.example.yaml") {
		key := it.Rule + "\x00" + it.Macro + "\x00" + it.List
		base, isDefault := defs[key]
		checkFields(t, it.Rule+it.Macro+it.List, it.Condition)
		switch {
		case it.Override != nil:
			overrides++
			if !isDefault {
				t.Errorf("override of %q, which the defaults do not define", it.Rule+it.Macro+it.List)
			}
			for k, mode := range it.Override {
				if mode != "append" && mode != "replace" {
					t.Errorf("%s: override %s: %s", it.Rule+it.Macro+it.List, k, mode)
				}
			}
			for _, ex := range it.Exceptions {
				defined := len(ex.Fields) > 0
				for _, bex := range base.Exceptions {
					if bex.Name == ex.Name {
						defined = true
						ex.Fields = bex.Fields
					}
				}
				if !defined {
					t.Errorf("%s: exception %q neither defined by the rule nor given fields", it.Rule, ex.Name)
				}
				for _, v := range ex.Values {
					if len(v) != len(ex.Fields) {
						t.Errorf("%s: exception %q: value %v for fields %v", it.Rule, ex.Name, v, ex.Fields)
					}
				}
			}
		case it.Enabled != nil && it.Condition == "":
			disables++
			if !isDefault {
				t.Errorf("enabled: toggles %q, which the defaults do not define", it.Rule)
			}
		case it.Rule != "":
			newRules++
			if isDefault {
				t.Errorf("rule %q redefined without override", it.Rule)
			}
		}
	}
	if overrides == 0 || disables == 0 || newRules == 0 {
		t.Errorf("example should show overrides (%d), disabling (%d) and a tenant rule (%d)", overrides, disables, newRules)
	}
}

// TestNoNameClashWithFalco makes sure that loading Vigil's defaults together
// with Falco's published rules never lets one silently redefine the other's
// lists, macros or rules.
func TestNoNameClashWithFalco(t *testing.T) {
	dir := os.Getenv("VIGIL_FALCO_RULES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "falco")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "falco*_rules.yaml"))
	if len(files) == 0 {
		testutil.Unavailable(t, "Falco's rules files not found in "+dir+" (set VIGIL_FALCO_RULES_DIR)")
	}
	falco := map[string]string{}
	for _, f := range files {
		for _, it := range readItems(t, f) {
			if n := it.Rule + it.Macro + it.List; n != "" {
				falco[n] = filepath.Base(f)
			}
		}
	}
	for _, it := range defaultItems(t) {
		if f, ok := falco[it.Rule+it.Macro+it.List]; ok {
			t.Errorf("%q is also defined in %s", it.Rule+it.Macro+it.List, f)
		}
	}
}

// TestEmbeddedDefaults checks that the embedded files are the ones on disk
// and that every rules file of this directory is embedded.
func TestEmbeddedDefaults(t *testing.T) {
	onDisk, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range onDisk {
		if !strings.HasSuffix(f, ".example.yaml") {
			want = append(want, f)
		}
	}
	got := append([]string(nil), rules.DefaultFiles()...)
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("DefaultFiles() = %v, files on disk %v", got, want)
	}
	for _, f := range rules.DefaultFiles() {
		emb, err := fs.ReadFile(rules.Defaults(), f)
		if err != nil {
			t.Fatal(err)
		}
		disk, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, disk) {
			t.Errorf("%s: embedded copy differs from the file", f)
		}
	}
}
