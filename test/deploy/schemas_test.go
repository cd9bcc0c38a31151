package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Kubernetes OpenAPI spec and the prometheus-operator CRDs come from Go
// modules (they ship the files), fetched through the module proxy or the
// module cache: kubeconform then validates offline against schemas generated
// here, never against schemas downloaded from the network at test time.
const (
	kubernetesModule = "k8s.io/kubernetes@v1.37.2"
	kubeVersion      = "1.37.2"
	promOperator     = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
	serviceMonitorCR = "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
)

// moduleDir returns the extracted directory of a module version, downloading
// it into the module cache when needed.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	gobin := requireBinary(t, "go")
	out, err := exec.Command(gobin, "mod", "download", "-json", mod).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", mod, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %s %v", mod, info.Error, err)
	}
	return info.Dir
}

// gvk is an apiVersion and kind as written in a manifest.
type gvk struct{ APIVersion, Kind string }

// schemaFile is the file name kubeconform looks for with the schema
// location "<dir>/{{ .ResourceKind }}{{ .KindSuffix }}.json":
// daemonset-apps-v1.json, service-v1.json, clusterrole-rbac-v1.json.
func (g gvk) schemaFile() string {
	group, version, ok := strings.Cut(g.APIVersion, "/")
	suffix := "-" + strings.ToLower(strings.Split(group, ".")[0])
	if ok {
		suffix += "-" + strings.ToLower(version)
	}
	return strings.ToLower(g.Kind) + suffix + ".json"
}

// schemaLocation is the kubeconform -schema-location for a directory written
// by writeSchemas.
func schemaLocation(dir string) string {
	return filepath.Join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json")
}

// writeSchemas writes a strict, standalone JSON schema for each kind into
// dir: built-in kinds from the Kubernetes OpenAPI v2 spec, ServiceMonitor
// from its CRD.
func writeSchemas(t *testing.T, dir string, kinds []gvk) {
	t.Helper()
	var defs map[string]any
	byGVK := map[gvk]string{}
	loadSpec := func() {
		data, err := os.ReadFile(filepath.Join(moduleDir(t, kubernetesModule), "api", "openapi-spec", "swagger.json"))
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Definitions map[string]any `json:"definitions"`
		}
		if err := json.Unmarshal(data, &spec); err != nil {
			t.Fatal(err)
		}
		defs = spec.Definitions
		for name, d := range defs {
			list, _ := d.(map[string]any)["x-kubernetes-group-version-kind"].([]any)
			for _, x := range list {
				m := x.(map[string]any)
				av := m["version"].(string)
				if g := m["group"].(string); g != "" {
					av = g + "/" + av
				}
				byGVK[gvk{av, m["kind"].(string)}] = name
			}
		}
	}
	for _, k := range kinds {
		var schema any
		switch {
		case k == gvk{"monitoring.coreos.com/v1", "ServiceMonitor"}:
			schema = crdSchema(t, filepath.Join(moduleDir(t, promOperator), serviceMonitorCR), "v1")
		default:
			if defs == nil {
				loadSpec()
			}
			name, ok := byGVK[k]
			if !ok {
				t.Fatalf("no OpenAPI definition for %s %s in %s", k.APIVersion, k.Kind, kubernetesModule)
			}
			schema = strictSchema(defs, defs[name], 0)
		}
		data, err := json.Marshal(schema)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, k.schemaFile()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// crdSchema returns the strict schema of one version of a CRD file.
func crdSchema(t *testing.T, path, version string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string `yaml:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				} `yaml:"schema"`
			} `yaml:"versions"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == version {
			return strictSchema(nil, v.Schema.OpenAPIV3Schema, 0)
		}
	}
	t.Fatalf("%s: no version %s", path, version)
	return nil
}

const (
	quantityRef    = "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"
	intOrStringRef = "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"
)

var (
	intOrString = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	quantity    = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
)

// strictSchema turns an OpenAPI schema into a standalone JSON schema:
// references inlined, int-or-string and quantities accepting both forms
// (as the API server does), and every object with declared properties
// closed (additionalProperties: false) unless it preserves unknown fields.
// That closing is what makes kubeconform -strict catch misspelt keys.
func strictSchema(defs map[string]any, node any, depth int) any {
	if depth > 64 { // recursive types (JSONSchemaProps): accept anything below
		return map[string]any{}
	}
	switch n := node.(type) {
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = strictSchema(defs, v, depth+1)
		}
		return out
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			switch ref {
			case quantityRef:
				return quantity
			case intOrStringRef:
				return intOrString
			}
			target, ok := defs[strings.TrimPrefix(ref, "#/definitions/")]
			if !ok {
				panic(fmt.Sprintf("unresolved $ref %s", ref))
			}
			return strictSchema(defs, target, depth+1)
		}
		if n["format"] == "int-or-string" || n["x-kubernetes-int-or-string"] == true {
			return intOrString
		}
		out := map[string]any{}
		for k, v := range n {
			switch {
			case k == "description" || strings.HasPrefix(k, "x-kubernetes-"):
			case k == "properties" || k == "patternProperties" || k == "definitions":
				props := map[string]any{}
				for name, p := range v.(map[string]any) {
					props[name] = strictSchema(defs, p, depth+1)
				}
				out[k] = props
			case k == "items" || k == "additionalProperties" || k == "not" ||
				k == "allOf" || k == "anyOf" || k == "oneOf":
				out[k] = strictSchema(defs, v, depth+1)
			default:
				out[k] = v
			}
		}
		if _, ok := n["properties"]; ok && n["x-kubernetes-preserve-unknown-fields"] != true {
			if _, set := n["additionalProperties"]; !set {
				out["additionalProperties"] = false
			}
		}
		return out
	}
	return node
}
