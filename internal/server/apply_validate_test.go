package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestRESTApplyRefusesWhatHaulApplyRefuses sends the dashboard's apply the mistakes
// `haul apply` catches before writing: an unknown field, an unknown step, an
// expression calling a function that does not exist or reading a field Freight does
// not have, a Stage taking Freight from itself. Each is refused with 422 naming the
// document, the field and the value, and nothing of the set is written (the Stage
// already there keeps its spec). A Kargo Stage whose `spec:` holds only comments
// (null) is accepted, as the API server accepts it.
func TestRESTApplyRefusesWhatHaulApplyRefuses(t *testing.T) {
	startServer(t)
	newProject(t, "av")
	createYAML(t, pipelineYAML("av"))
	ctx := context.Background()
	stageWith := func(name, steps string) string {
		return "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: " + name + ", namespace: av}\nspec:\n" +
			"  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n" +
			"  promotionTemplate:\n    spec:\n      steps:\n" + steps
	}
	newWarehouse := "apiVersion: haul.dev/v1alpha1\nkind: Warehouse\nmetadata: {name: extra, namespace: av}\nspec:\n  subscriptions:\n  - image: {repoURL: registry.example.com/extra}\n---\n"
	for _, tt := range []struct {
		name, body string
		want       []string
	}{
		{"unknown field", newWarehouse + "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: av}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotonTemplate: {}\n",
			[]string{"stage.haul.dev/test", "promotonTemplate"}},
		{"unknown step", newWarehouse + stageWith("test", "      - uses: git-clone-everything\n"),
			[]string{"stage.haul.dev/test", "git-clone-everything"}},
		{"unknown function", newWarehouse + stageWith("test", "      - uses: git-clone\n        config:\n          repoURL: ${{ imageFrum('x').Tag }}\n          checkout: [{branch: main, path: ./src}]\n"),
			[]string{"stage.haul.dev/test", "imageFrum"}},
		{"stage from itself", newWarehouse + "apiVersion: haul.dev/v1alpha1\nkind: Stage\nmetadata: {name: test, namespace: av}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {stages: [test]}\n",
			[]string{"stage.haul.dev/test", "test"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, b := call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", tt.body)
			if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), "nothing was applied") {
				t.Fatalf("%d %s, want 422 saying nothing was applied", code, b)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("refusal %s does not name %q", b, w)
				}
			}
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "av", Name: "extra"}, &haulv1.Warehouse{}); err == nil {
				t.Fatal("the Warehouse of the refused set was written")
			}
			st := &haulv1.Stage{}
			must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: "av", Name: "test"}, st))
			if st.Spec.PromotionTemplate != nil || !st.Spec.RequestedFreight[0].Sources.Direct {
				t.Fatalf("the stored Stage changed: %+v", st.Spec)
			}
		})
	}

	kargoNull := "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: nulled, namespace: av}\nspec:\n  subscriptions:\n  - image:\n      repoURL: registry.example.com/app\n      # comments only below\n      discoveryLimit:\n"
	if code, b := call(t, "POST", "/api/v1/apply", testAdminToken, "application/yaml", kargoNull); code != http.StatusOK {
		t.Fatalf("a Kargo Warehouse with a null field: %d %s", code, b)
	}
}
