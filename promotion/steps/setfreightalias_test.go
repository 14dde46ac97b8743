package steps

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/promotion"
)

func TestSetFreightAliasOnARealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	ns := env.Namespace(t, "alias-shop")
	for name, alias := range map[string]string{"f1": "brave-otter", "f2": "calm-heron"} {
		f := &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{haulv1.LabelAlias: alias}},
			Alias:      alias,
			Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
			Images:     []haulv1.Image{{RepoURL: "registry.example.com/app", Tag: "1.0." + name}},
		}
		if err := env.Client.Create(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	run := func(cfg map[string]any) (promotion.StepResult, error) {
		sc := &promotion.StepContext{WorkDir: t.TempDir(), Project: ns, Config: cfg, Services: &promotion.Services{Dynamic: dyn}}
		return setFreightAlias(ctx, sc)
	}
	get := func(name string) *haulv1.Freight {
		f := &haulv1.Freight{}
		if err := env.Client.Get(ctx, keyOf(ns, name), f); err != nil {
			t.Fatal(err)
		}
		return f
	}

	t.Run("renames the Freight and its label", func(t *testing.T) {
		res, err := run(map[string]any{"name": "f1", "alias": "release-42"})
		if err != nil {
			t.Fatal(err)
		}
		f := get("f1")
		if f.Alias != "release-42" || f.Labels[haulv1.LabelAlias] != "release-42" {
			t.Errorf("alias = %q, label = %q, want both release-42", f.Alias, f.Labels[haulv1.LabelAlias])
		}
		if want := `updated alias of Freight "f1" from "brave-otter" to "release-42"`; res.Message != want {
			t.Errorf("message = %q, want %q", res.Message, want)
		}
	})
	t.Run("setting the same alias again succeeds", func(t *testing.T) {
		if _, err := run(map[string]any{"name": "f1", "alias": "release-42"}); err != nil {
			t.Fatal(err)
		}
	})
	tests := []struct {
		name, freight, alias, wantErr string
	}{
		{"an alias another Freight has is refused", "f1", "calm-heron", `alias "calm-heron" is already used by Freight "f2"`},
		{"a missing Freight is a terminal error", "nope", "x", `freight "nope" not found in project "alias-shop"`},
		{"an invalid alias is refused before the API server", "f1", "Not_Valid", `alias "Not_Valid" is invalid`},
		{"an alias longer than 63 characters is refused", "f1", strings.Repeat("a", 64), "is invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(map[string]any{"name": tc.freight, "alias": tc.alias})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			}
			if !promotion.IsTerminal(err) {
				t.Errorf("error %q is not terminal", err)
			}
			if f := get("f2"); f.Alias != "calm-heron" {
				t.Errorf("f2's alias changed to %q", f.Alias)
			}
		})
	}
	t.Run("without cluster access the step says so", func(t *testing.T) {
		sc := &promotion.StepContext{WorkDir: t.TempDir(), Project: ns, Config: map[string]any{"name": "f1", "alias": "x"}}
		if _, err := setFreightAlias(ctx, sc); err == nil || !strings.Contains(err.Error(), "needs cluster access") {
			t.Fatalf("err = %v, want the missing cluster access named", err)
		}
	})
}
