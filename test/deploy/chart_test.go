package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// everything turns on every optional part of the chart.
const everything = `
clusterName: prod-eu
priorityClassName: system-node-critical
podAnnotations: {team: security}
containerRuntime:
  sockets: [/run/containerd/containerd.sock, /var/run/crio/crio.sock]
rules:
  custom:
    tenants.yaml: |-
      - rule: Interactive shell in container
        condition: and not tenant.name = platform
        override:
          condition: append
  extraConfigMaps: [site-rules]
tenancy:
  static:
    - {namespace: "acme-*", tenant: acme}
metrics:
  service:
    annotations: {prometheus.io/scrape: "true"}
  serviceMonitor:
    enabled: true
    labels: {release: kube-prometheus}
nats:
  enabled: true
  url: nats://nats.nats.svc:4222
  passwordSecret: vigil-nats
  jetstream: {enabled: true}
  serverConfig:
    enabled: true
    tenants:
      - {name: acme, password: "$2a$11$abcdefghijklmnopqrstuuJ4hN1Q0iW9xF2o6vJ4dV2eYw5yGmFq"}
      - {name: globex, user: globex-reader, password: "$GLOBEX_PASSWORD"}
    admins:
      - {user: soc, password: "$SOC_PASSWORD"}
extraEnv:
  - {name: VIGIL_LOG_LEVEL, value: debug}
extraVolumes:
  - {name: scratch, emptyDir: {}}
extraVolumeMounts:
  - {name: scratch, mountPath: /var/lib/vigil}
config:
  log: {level: debug}
`

// valueSets are the configurations every check runs over.
func valueSets(t *testing.T) map[string][]string {
	return map[string][]string{
		"defaults":       nil,
		"everything":     {"--values", writeValues(t, everything)},
		"privileged":     {"--set", "security.privileged=true"},
		"custom only":    {"--set", "rules.defaults=false", "--set-string", "rules.custom.site\\.yaml=- list: x\n  items: []"},
		"no rbac/sa/svc": {"--set", "rbac.create=false,serviceAccount.create=false,metrics.service.enabled=false"},
	}
}

func TestHelmLint(t *testing.T) {
	helm := requireBinary(t, "helm")
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			out := run(t, helm, append([]string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}, args...)...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Fatalf("helm lint:\n%s", out)
			}
		})
	}
}

// TestManifestsValidate renders every value set and validates the result
// with kubeconform -strict against schemas generated offline.
func TestManifestsValidate(t *testing.T) {
	kubeconform := requireBinary(t, "kubeconform")
	rendered := map[string]string{}
	kinds := map[gvk]bool{}
	for name, args := range valueSets(t) {
		rendered[name] = render(t, args...)
		for _, o := range objects(t, rendered[name]) {
			av, _ := o["apiVersion"].(string)
			kinds[gvk{av, o.kind()}] = true
		}
	}
	var list []gvk
	for k := range kinds {
		list = append(list, k)
	}
	schemas := t.TempDir()
	writeSchemas(t, schemas, list)
	for name, manifest := range rendered {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "manifest.yaml")
			if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
				t.Fatal(err)
			}
			out := run(t, kubeconform, "-strict", "-summary", "-schema-location", schemaLocation(schemas), file)
			if !strings.Contains(out, "Invalid: 0, Errors: 0, Skipped: 0") {
				t.Fatalf("kubeconform:\n%s", out)
			}
		})
	}
}

// TestKubeconformCatchesMistakes proves that the generated schemas are used
// and strict: a misspelt key, a wrong type, and an unknown kind all fail.
func TestKubeconformCatchesMistakes(t *testing.T) {
	kubeconform := requireBinary(t, "kubeconform")
	manifest := render(t)
	schemas := t.TempDir()
	writeSchemas(t, schemas, []gvk{{"apps/v1", "DaemonSet"}, {"v1", "ConfigMap"}})
	ds := find(t, objects(t, manifest), "DaemonSet", "vigil")
	good, err := yaml.Marshal(map[string]any(ds))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"misspelt key", "imagePullPolicy:", "imagePulPolicy:", "additional properties 'imagePulPolicy' not allowed"},
		{"wrong type", "hostPID: true", "hostPID: yes-please", "hostPID"},
		{"unknown kind", "kind: DaemonSet", "kind: DaemonSett", "could not find schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tt.old, tt.new, 1)
			if bad == string(good) {
				t.Fatalf("%q not in the rendered DaemonSet", tt.old)
			}
			file := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := runErr(kubeconform, "-strict", "-schema-location", schemaLocation(schemas), file)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("kubeconform accepted or said something else (err %v, want %q):\n%s", err, tt.want, out)
			}
		})
	}
	// And the untouched object passes with the same schemas.
	file := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, kubeconform, "-strict", "-schema-location", schemaLocation(schemas), file)
}

func TestDaemonSet(t *testing.T) {
	objs := objects(t, render(t))
	ds := find(t, objs, "DaemonSet", "vigil")
	pod := func(keys ...any) any { return ds.path(append([]any{"spec", "template", "spec"}, keys...)...) }
	ctr := func(keys ...any) any { return pod(append([]any{"containers", 0}, keys...)...) }

	if pod("hostPID") != true {
		t.Error("hostPID is not set")
	}
	sc := ctr("securityContext").(map[string]any)
	if sc["privileged"] != false || sc["allowPrivilegeEscalation"] != false || sc["readOnlyRootFilesystem"] != true {
		t.Errorf("securityContext = %v", sc)
	}
	caps := ctr("securityContext", "capabilities").(map[string]any)
	wantCaps := []any{"BPF", "PERFMON", "SYS_RESOURCE", "SYS_PTRACE", "DAC_READ_SEARCH"}
	if !reflect.DeepEqual(caps["add"], wantCaps) || !reflect.DeepEqual(caps["drop"], []any{"ALL"}) {
		t.Errorf("capabilities = %v, want add %v drop [ALL]", caps, wantCaps)
	}
	env := ctr("env").([]any)[0].(map[string]any)
	if env["name"] != "NODE_NAME" || object(env).path("valueFrom", "fieldRef", "fieldPath") != "spec.nodeName" {
		t.Errorf("first env = %v, want NODE_NAME from spec.nodeName", env)
	}
	if ctr("livenessProbe", "httpGet", "path") != "/healthz" || ctr("readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("probes do not use /healthz and /readyz")
	}
	if ctr("resources", "limits", "memory") == nil || ctr("resources", "requests", "cpu") == nil {
		t.Error("resources missing")
	}
	tol := pod("tolerations").([]any)
	if len(tol) != 1 || tol[0].(map[string]any)["operator"] != "Exists" || len(tol[0].(map[string]any)) != 1 {
		t.Errorf("tolerations = %v, want one that tolerates everything", tol)
	}

	hostPaths := map[string]string{} // volume name → host path
	for _, v := range pod("volumes").([]any) {
		v := object(v.(map[string]any))
		if p, ok := v.path("hostPath", "path").(string); ok {
			hostPaths[v["name"].(string)] = p
		}
	}
	mounts := map[string]map[string]any{} // volume name → mount
	for _, m := range ctr("volumeMounts").([]any) {
		m := m.(map[string]any)
		if _, ok := m["subPath"]; ok {
			t.Errorf("mount %v uses subPath: ConfigMap updates would never reach it", m["name"])
		}
		mounts[m["name"].(string)] = m
	}
	for host, mount := range map[string]string{
		"/proc":                           "/host/proc",
		"/sys/kernel/btf":                 "/sys/kernel/btf",
		"/sys/kernel/tracing":             "/sys/kernel/tracing",
		"/sys/fs/cgroup":                  "/host/sys/fs/cgroup",
		"/etc/passwd":                     "/etc/passwd",
		"/etc/group":                      "/etc/group",
		"/run/containerd/containerd.sock": "/host/run/containerd/containerd.sock",
	} {
		found := false
		for vol, p := range hostPaths {
			if p == host {
				found = true
				if m := mounts[vol]; m == nil || m["mountPath"] != mount || m["readOnly"] != true {
					t.Errorf("host %s: mount %v, want read-only at %s", host, m, mount)
				}
			}
		}
		if !found {
			t.Errorf("host path %s not mounted", host)
		}
	}
	// The custom rules directory is always mounted (empty by default), so
	// rules added to its ConfigMap later are picked up by hot reload.
	if m := mounts["rules-custom"]; m == nil || m["mountPath"] != "/etc/vigil/rules.d/custom" {
		t.Errorf("custom rules mount = %v", m)
	}
	if cm := find(t, objs, "ConfigMap", "vigil-rules-custom"); cm["data"] == nil {
		t.Errorf("custom rules ConfigMap = %v", cm)
	}
	if len(hostPaths) != 7 {
		t.Errorf("host paths %v: unexpected extra host access", hostPaths)
	}

	priv := find(t, objects(t, render(t, "--set", "security.privileged=true")), "DaemonSet", "vigil")
	psc := priv.path("spec", "template", "spec", "containers", 0, "securityContext").(map[string]any)
	if psc["privileged"] != true || psc["capabilities"] != nil || psc["allowPrivilegeEscalation"] != nil {
		t.Errorf("privileged fallback securityContext = %v", psc)
	}
}

func TestRBACIsReadOnlyPodsAndNamespaces(t *testing.T) {
	objs := objects(t, render(t))
	role := find(t, objs, "ClusterRole", "vigil")
	want := []any{map[string]any{
		"apiGroups": []any{""},
		"resources": []any{"pods", "namespaces"},
		"verbs":     []any{"get", "list", "watch"},
	}}
	if !reflect.DeepEqual(role["rules"], want) {
		t.Errorf("ClusterRole rules = %v, want %v", role["rules"], want)
	}
	binding := find(t, objs, "ClusterRoleBinding", "vigil")
	if binding.path("subjects", 0, "name") != "vigil" || binding.path("subjects", 0, "namespace") != "vigil-system" {
		t.Errorf("binding subjects = %v", binding["subjects"])
	}
	find(t, objs, "ServiceAccount", "vigil")
	for _, o := range objs {
		if k := o.kind(); k == "Role" || k == "RoleBinding" || k == "Secret" {
			t.Errorf("unexpected %s %s", k, o.name())
		}
	}
}

func TestAgentConfig(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantRules []string
		check     func(t *testing.T, cfg object)
	}{
		{"defaults", nil, []string{"/etc/vigil/rules/vigil_rules.yaml", "/etc/vigil/rules.d/custom"}, func(t *testing.T, cfg object) {
			if cfg.path("metrics", "listen_address") != ":8765" || cfg.path("outputs", "nats") != nil {
				t.Errorf("config = %v", cfg)
			}
			if cfg.path("enrich", "cri_sockets", 0) != "/host/run/containerd/containerd.sock" {
				t.Errorf("cri_sockets = %v", cfg.path("enrich", "cri_sockets"))
			}
		}},
		{"everything", []string{"--values", writeValues(t, everything)},
			[]string{"/etc/vigil/rules/vigil_rules.yaml", "/etc/vigil/rules.d/custom", "/etc/vigil/rules.d/site-rules"},
			func(t *testing.T, cfg object) {
				if cfg.path("outputs", "nats", "url") != "nats://nats.nats.svc:4222" ||
					cfg.path("outputs", "nats", "subject") != "vigil.alerts.{tenant}.{priority}" ||
					cfg.path("outputs", "nats", "password") != nil {
					t.Errorf("nats = %v", cfg.path("outputs", "nats"))
				}
				if cfg.path("outputs", "stdout", "enabled") != true {
					t.Error("values config not merged: stdout output lost")
				}
				if cfg.path("log", "level") != "debug" || cfg.path("log", "format") != "json" {
					t.Errorf("log = %v: values.config must merge key by key", cfg["log"])
				}
				if cfg.path("enrich", "static_tenants", 0, "tenant") != "acme" || cfg.path("enrich", "cluster_name") != "prod-eu" {
					t.Errorf("enrich = %v", cfg["enrich"])
				}
			}},
		{"custom only", valueSets(t)["custom only"], []string{"/etc/vigil/rules.d/custom"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm := find(t, objects(t, render(t, tt.args...)), "ConfigMap", "vigil-config")
			var m map[string]any
			if err := yaml.Unmarshal([]byte(cm.path("data", "config.yaml").(string)), &m); err != nil {
				t.Fatal(err)
			}
			cfg := object(m)
			var files []string
			for _, f := range cfg.path("rules", "files").([]any) {
				files = append(files, f.(string))
			}
			if !reflect.DeepEqual(files, tt.wantRules) {
				t.Errorf("rules.files = %v, want %v", files, tt.wantRules)
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

// TestBundledRules checks that the chart's copy of the default rules is the
// one in rules/ (run `go generate ./rules` after editing them) and that the
// rendered ConfigMap carries it byte for byte.
func TestBundledRules(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "rules", "vigil_rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	chartCopy, err := os.ReadFile(filepath.Join(chartDir, "rules", "vigil_rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, chartCopy) {
		t.Fatal("deploy/helm/vigil/rules/vigil_rules.yaml is stale: run `go generate ./rules` and commit")
	}
	entries, err := os.ReadDir(filepath.Join(chartDir, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "vigil_rules.yaml" {
		t.Errorf("chart rules directory holds %v, want only vigil_rules.yaml", names)
	}
	cm := find(t, objects(t, render(t)), "ConfigMap", "vigil-rules")
	got := cm.path("data", "vigil_rules.yaml").(string)
	if strings.TrimRight(got, "\n") != strings.TrimRight(string(src), "\n") {
		t.Error("rendered rules ConfigMap differs from rules/vigil_rules.yaml")
	}
}

func TestMetricsServiceAndMonitor(t *testing.T) {
	objs := objects(t, render(t, "--values", writeValues(t, everything)))
	svc := find(t, objs, "Service", "vigil-metrics")
	if svc.path("spec", "clusterIP") != "None" || svc.path("spec", "ports", 0, "port") != 8765 {
		t.Errorf("service spec = %v", svc["spec"])
	}
	sm := find(t, objs, "ServiceMonitor", "vigil")
	if sm.path("spec", "endpoints", 0, "port") != "metrics" || sm.path("metadata", "labels", "release") != "kube-prometheus" {
		t.Errorf("servicemonitor = %v", sm)
	}
	for _, o := range objects(t, render(t)) {
		if o.kind() == "ServiceMonitor" {
			t.Error("ServiceMonitor rendered although disabled by default")
		}
	}
}

// TestValuesSchemaRejectsMistakes checks that values.schema.json turns
// mistakes in user values into errors at template time instead of a
// silently ignored setting.
func TestValuesSchemaRejectsMistakes(t *testing.T) {
	helm := requireBinary(t, "helm")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"misspelt key", []string{"--set", "securty.privileged=true"}, "additional properties 'securty' not allowed"},
		{"misspelt nested key", []string{"--set", "nats.serverConfig.enable=true"}, "'enable' not allowed"},
		{"unknown priority", []string{"--set", "nats.minPriority=loud"}, "/nats/minPriority"},
		{"capability in lower case", []string{"--set", "security.extraCapabilities={sys_admin}"}, "/security/extraCapabilities/0"},
		{"rules file without .yaml", []string{"--set-string", "rules.custom.tenants=x"}, "'tenants' does not match pattern"},
		{"tenant without name", []string{"--values", writeValues(t, "nats:\n  serverConfig:\n    tenants:\n      - {password: x}\n")}, "name"},
		{"relative host path", []string{"--set", "hostPaths.btf=sys/kernel/btf"}, "/hostPaths/btf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"template", "vigil", chartDir, "--kube-version", kubeVersion}, tt.args...)
			out, err := runErr(helm, args...)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("helm template accepted the values or said something else (err %v, want %q):\n%s", err, tt.want, out)
			}
		})
	}
}
