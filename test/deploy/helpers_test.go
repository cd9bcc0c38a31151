// Package deploy tests the Helm chart in deploy/helm/vigil: helm lint,
// helm template, offline kubeconform validation against schemas generated
// from the Kubernetes OpenAPI spec, the rendered objects themselves, and the
// bundled nats-server configuration against a real embedded NATS server.
package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vigilsec/vigil/pkg/testutil"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "deploy", "helm", "vigil")
)

// requireBinary finds a program on PATH or in GOPATH/bin (where test/deps.sh
// installs helm and kubeconform), else skips or, when strict, fails.
func requireBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return testutil.RequireBinary(t, name)
}

// run executes a program and returns its stdout; a non-zero exit fails the
// test with the program's output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(name string, args ...string) (string, error) {
	return runIn("", nil, name, args...)
}

// runIn runs a program in dir with extra environment variables and returns
// its combined output.
func runIn(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// render runs helm template on the chart with the given extra arguments
// (--set, --values ...).
func render(t *testing.T, args ...string) string {
	t.Helper()
	helm := requireBinary(t, "helm")
	base := []string{"template", "vigil", chartDir, "--namespace", "vigil-system", "--kube-version", kubeVersion}
	return run(t, helm, append(base, args...)...)
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }

func (o object) name() string {
	md, _ := o["metadata"].(map[string]any)
	s, _ := md["name"].(string)
	return s
}

// path walks nested maps and lists: path("spec", "template", "spec",
// "containers", 0, "securityContext").
func (o object) path(keys ...any) any {
	var cur any = map[string]any(o)
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			cur = l[k]
		}
	}
	return cur
}

// objects splits a rendered manifest into its objects.
func objects(t *testing.T, manifest string) []object {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(manifest))
	var out []object
	for {
		var o map[string]any // not object: yaml.v3 would give nested maps that type too
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("rendered manifest: %v", err)
		}
		if o != nil {
			out = append(out, object(o))
		}
	}
}

// find returns the object of the kind and name, failing when absent.
func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	return nil
}

// writeValues writes a values file for helm --values.
func writeValues(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
