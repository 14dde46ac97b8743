// Package chart_test renders charts/haul with Helm's Go SDK and dry-runs every object
// it produces against a real API server.
package chart_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const namespace = "haul-system"

// render returns the chart's CRD files and rendered templates as objects.
func render(t *testing.T, valuesFile string) []*unstructured.Unstructured {
	t.Helper()
	chrt, err := loader.Load("../../charts/haul")
	if err != nil {
		t.Fatalf("loading chart: %v", err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		b, err := os.ReadFile(valuesFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &vals); err != nil {
			t.Fatal(err)
		}
	}
	install := action.NewInstall(&action.Configuration{})
	install.ClientOnly, install.DryRun, install.IncludeCRDs = true, true, true
	install.ReleaseName, install.Namespace = "haul", namespace
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.37.1", Major: "1", Minor: "37"}
	install.APIVersions = chartutil.VersionSet{"monitoring.coreos.com/v1/ServiceMonitor"}
	rel, err := install.Run(chrt, vals)
	if err != nil {
		t.Fatalf("rendering chart with %q: %v", valuesFile, err)
	}
	return decode(t, rel.Manifest)
}

func decode(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out
			}
			t.Fatalf("decoding rendered manifest: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func ensureNamespaceAndMonitorCRD(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := env.Client.Create(ctx, ns); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/servicemonitor-crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(b, crd); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, crd); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got := &apiextensionsv1.CustomResourceDefinition{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(crd), got); err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

func TestChartRendersAndIsAcceptedByTheAPIServer(t *testing.T) {
	ensureNamespaceAndMonitorCRD(t)
	for _, tc := range []struct {
		name   string
		values string
		want   []string // kinds that must be present
		absent []string
	}{
		{"default values", "", []string{"CustomResourceDefinition", "Deployment", "Service", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "ValidatingAdmissionPolicy"}, []string{"Ingress", "ServiceMonitor", "Secret"}},
		{"full values", "testdata/full-values.yaml", []string{"Ingress", "ServiceMonitor", "Secret", "Deployment"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.values)
			kinds := map[string]int{}
			for _, u := range objs {
				kinds[u.GetKind()]++
				opts := []client.ApplyOption{client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll}
				if err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
					t.Errorf("API server rejected %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			}
			for _, k := range tc.want {
				if kinds[k] == 0 {
					t.Errorf("no %s rendered (rendered: %v)", k, kinds)
				}
			}
			for _, k := range tc.absent {
				if kinds[k] != 0 {
					t.Errorf("%s rendered with %s, want none", k, tc.name)
				}
			}
			crdFiles, err := filepath.Glob("../../charts/haul/crds/haul.dev_*.yaml")
			if err != nil || len(crdFiles) < 8 {
				t.Fatalf("charts/haul/crds: %d CRD files, %v", len(crdFiles), err)
			}
			if kinds["CustomResourceDefinition"] != len(crdFiles) {
				t.Errorf("want the %d Haul CRDs of charts/haul/crds, got %d", len(crdFiles), kinds["CustomResourceDefinition"])
			}
			if kinds["Deployment"] != 2 {
				t.Errorf("want a controller and a server Deployment, got %d", kinds["Deployment"])
			}
		})
	}
}

// TestChartRBACIsLeastPrivilege checks that no cluster-wide role grants Secrets: Haul
// reaches Secrets only through the per-project RoleBinding to the project-access role.
func TestChartRBACIsLeastPrivilege(t *testing.T) {
	for _, u := range render(t, "") {
		if u.GetKind() != "ClusterRole" || strings.HasSuffix(u.GetName(), "-project-access") {
			continue
		}
		rules, _, _ := unstructured.NestedSlice(u.Object, "rules")
		for _, r := range rules {
			rule := r.(map[string]any)
			res, _ := rule["resources"].([]any)
			for _, x := range res {
				if x == "secrets" || x == "*" && contains(rule["apiGroups"], "") {
					t.Errorf("ClusterRole %s grants %v cluster-wide", u.GetName(), rule)
				}
			}
		}
	}
	var controller *unstructured.Unstructured
	for _, u := range render(t, "") {
		if u.GetKind() == "Deployment" && strings.HasSuffix(u.GetName(), "-controller") {
			controller = u
		}
	}
	if controller == nil {
		t.Fatal("no controller Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(controller.Object, "spec", "template", "spec", "containers")
	args, _ := containers[0].(map[string]any)["args"].([]any)
	joined := ""
	for _, a := range args {
		joined += a.(string) + " "
	}
	for _, want := range []string{"--leader-elect=true", "--project-access-role=haul-project-access"} {
		if !strings.Contains(joined, want) {
			t.Errorf("controller args %q lack %q", joined, want)
		}
	}
}

// TestChartSharedCredentialsNamespace: naming a shared credentials namespace passes it to
// the controller and lets the controller (only) read Secrets there, and nowhere else.
func TestChartSharedCredentialsNamespace(t *testing.T) {
	var args string
	var role, binding *unstructured.Unstructured
	for _, u := range render(t, "testdata/full-values.yaml") {
		switch {
		case u.GetKind() == "Deployment" && strings.HasSuffix(u.GetName(), "-controller"):
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			for _, a := range containers[0].(map[string]any)["args"].([]any) {
				args += a.(string) + " "
			}
		case u.GetKind() == "Role" && strings.HasSuffix(u.GetName(), "-shared-credentials"):
			role = u
		case u.GetKind() == "RoleBinding" && strings.HasSuffix(u.GetName(), "-shared-credentials"):
			binding = u
		}
	}
	if !strings.Contains(args, "--shared-credentials-namespace=haul-system") {
		t.Errorf("controller args %q lack the shared credentials namespace", args)
	}
	if role == nil || binding == nil || role.GetNamespace() != "haul-system" || binding.GetNamespace() != "haul-system" {
		t.Fatalf("want a Role and RoleBinding in haul-system, got %v %v", role, binding)
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	if len(rules) != 1 || !contains(rules[0].(map[string]any)["resources"], "secrets") || contains(rules[0].(map[string]any)["verbs"], "watch") {
		t.Errorf("shared credentials Role grants %v, want get/list on secrets only", rules)
	}
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if len(subjects) != 1 || !strings.HasSuffix(subjects[0].(map[string]any)["name"].(string), "-controller") {
		t.Errorf("shared credentials bound to %v, want the controller's service account only", subjects)
	}
	for _, u := range render(t, "") {
		if strings.HasSuffix(u.GetName(), "-shared-credentials") {
			t.Errorf("default values render %s %s", u.GetKind(), u.GetName())
		}
	}
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
