package chart_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/haul-dev/haul/internal/cli"
)

// TestChartShards: controller.shards renders one controller Deployment per shard next
// to the default one, each passing --shard (and --reconciler-kubeconfig from its Secret
// when given), with its own replicas, pod labels no other Deployment selects, and a
// metrics Service; `haul controller` accepts every rendered argument and the API
// server accepts every object.
func TestChartShards(t *testing.T) {
	ensureNamespaceAndMonitorCRD(t)
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`controller:
  shards:
  - name: eu
    replicas: 2
    reconcilerKubeconfigSecret: eu-kubeconfig
  - name: us
`), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := render(t, values)
	deployments := map[string]*unstructured.Unstructured{}
	services := map[string]bool{}
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment":
			if strings.Contains(u.GetName(), "-controller") {
				deployments[u.GetName()] = u
			}
		case "Service":
			services[u.GetName()] = true
		}
		opts := []client.ApplyOption{client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll}
		if err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u), opts...); err != nil {
			t.Errorf("API server rejected %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	want := map[string]struct {
		shard, kubeconfigSecret string
		replicas                int64
	}{
		"haul-controller":    {"", "", 1},
		"haul-controller-eu": {"eu", "eu-kubeconfig", 2},
		"haul-controller-us": {"us", "", 1},
	}
	if len(deployments) != len(want) {
		t.Fatalf("controller Deployments %v, want %d", keys(deployments), len(want))
	}
	for name, w := range want {
		d := deployments[name]
		if d == nil {
			t.Fatalf("no Deployment %s (got %v)", name, keys(deployments))
		}
		if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != w.replicas {
			t.Errorf("%s: replicas %d, want %d", name, r, w.replicas)
		}
		args := containerArgs(d)
		cmd, rest, err := cli.NewRootCommand().Find(args)
		if err != nil || cmd.Name() != "controller" {
			t.Fatalf("%s: finding the controller command for %q: %v", name, args, err)
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Fatalf("%s: haul controller refuses the chart's args %q: %v", name, args, err)
		}
		if got, _ := cmd.Flags().GetString("shard"); got != w.shard {
			t.Errorf("%s: --shard %q, want %q", name, got, w.shard)
		}
		kc, _ := cmd.Flags().GetString("reconciler-kubeconfig")
		secret := ""
		vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
		for _, v := range vols {
			if s, ok, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName"); ok {
				secret = s
			}
		}
		if secret != w.kubeconfigSecret || (kc != "") != (w.kubeconfigSecret != "") {
			t.Errorf("%s: --reconciler-kubeconfig %q from Secret %q, want the Secret %q", name, kc, secret, w.kubeconfigSecret)
		}
		// No other controller Deployment's selector takes this one's pods.
		podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		for other, od := range deployments {
			sel, _, _ := unstructured.NestedStringMap(od.Object, "spec", "selector", "matchLabels")
			if matches := labels.SelectorFromSet(sel).Matches(labels.Set(podLabels)); matches != (other == name) {
				t.Errorf("Deployment %s selects the pods of %s: %v", other, name, matches)
			}
		}
	}
	for _, svc := range []string{"haul-controller-metrics", "haul-controller-eu-metrics", "haul-controller-us-metrics"} {
		if !services[svc] {
			t.Errorf("no metrics Service %s", svc)
		}
	}
}

// TestChartRefusesBadShardNames: a shard name that cannot be a label value, or one
// listed twice, fails the install with the name, instead of a controller that never
// starts.
func TestChartRefusesBadShardNames(t *testing.T) {
	for values, want := range map[string]string{
		"controller:\n  shards:\n  - name: EU_1\n":             `name "EU_1" must be a DNS label`,
		"controller:\n  shards:\n  - {}\n":                     `name "<nil>" must be a DNS label`,
		"controller:\n  shards:\n  - name: eu\n  - name: eu\n": `name "eu" is listed twice`,
	} {
		err := renderErr(t, values)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("values %q: got %v, want an error containing %q", values, err, want)
		}
	}
}

func renderErr(t *testing.T, values string) error {
	t.Helper()
	chrt, err := loader.Load("../../charts/haul")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ReadValues([]byte(values))
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(&action.Configuration{})
	install.ClientOnly, install.DryRun = true, true
	install.ReleaseName, install.Namespace = "haul", namespace
	install.KubeVersion = &chartutil.KubeVersion{Version: "v1.37.1", Major: "1", Minor: "37"}
	_, err = install.Run(chrt, vals.AsMap())
	return err
}

func containerArgs(d *unstructured.Unstructured) []string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	var args []string
	for _, a := range containers[0].(map[string]any)["args"].([]any) {
		args = append(args, a.(string))
	}
	return args
}

func keys(m map[string]*unstructured.Unstructured) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
