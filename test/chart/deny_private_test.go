package chart_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/haul-dev/haul/internal/cli"
)

// controllerArgs renders the chart and returns the controller container's args.
func controllerArgs(t *testing.T, valuesFile string) []string {
	t.Helper()
	for _, u := range render(t, valuesFile) {
		if u.GetKind() != "Deployment" || !strings.HasSuffix(u.GetName(), "-controller") {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		var args []string
		for _, a := range containers[0].(map[string]any)["args"].([]any) {
			args = append(args, a.(string))
		}
		return args
	}
	t.Fatal("no controller Deployment rendered")
	return nil
}

// TestChartDenyPrivateHTTP: controller.denyPrivateHTTP and controller.denyPlainHTTPGit
// pass --deny-private-http and --deny-plain-http-git to the controller (only when set),
// and `haul controller` accepts every rendered argument.
func TestChartDenyPrivateHTTP(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("controller:\n  denyPrivateHTTP: true\n  denyPlainHTTPGit: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	on := controllerArgs(t, values)
	off := controllerArgs(t, "")
	for _, flag := range []string{"--deny-private-http", "--deny-plain-http-git"} {
		if !contains(toAny(on), flag) {
			t.Fatalf("controller args %q lack %s", on, flag)
		}
		if contains(toAny(off), flag) {
			t.Fatalf("default values pass %s: %q", flag, off)
		}
	}
	cmd, rest, err := cli.NewRootCommand().Find(on)
	if err != nil || cmd.Name() != "controller" {
		t.Fatalf("finding the controller command for %q: %v", on, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("haul controller refuses the chart's args %q: %v", on, err)
	}
	for _, flag := range []string{"deny-private-http", "deny-plain-http-git"} {
		if v, err := cmd.Flags().GetBool(flag); err != nil || !v {
			t.Fatalf("--%s parsed as %v (%v)", flag, v, err)
		}
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestChartPushIntegrationPolicy: controller.pushIntegrationPolicy reaches `haul
// controller` as --push-integration-policy (AlwaysRebase by default), and the
// command accepts it.
func TestChartPushIntegrationPolicy(t *testing.T) {
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte("controller:\n  pushIntegrationPolicy: RebaseOrFail\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"": "AlwaysRebase", values: "RebaseOrFail"} {
		args := controllerArgs(t, file)
		if !contains(toAny(args), "--push-integration-policy="+want) {
			t.Fatalf("controller args %q lack --push-integration-policy=%s", args, want)
		}
		cmd, rest, err := cli.NewRootCommand().Find(args)
		if err != nil || cmd.Name() != "controller" {
			t.Fatalf("finding the controller command for %q: %v", args, err)
		}
		if err := cmd.ParseFlags(rest); err != nil {
			t.Fatalf("haul controller refuses the chart's args %q: %v", args, err)
		}
		if v, _ := cmd.Flags().GetString("push-integration-policy"); v != want {
			t.Fatalf("--push-integration-policy parsed as %q, want %q", v, want)
		}
	}
}
