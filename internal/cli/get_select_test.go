package cli

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// createFreight creates Freight in ns, each given as {name letter (repeated to 40),
// warehouse, alias}.
func createFreight(t *testing.T, ns string, specs ...[3]string) {
	t.Helper()
	for _, sp := range specs {
		f := &haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.Repeat(sp[0], 40)},
			Alias:      sp[2],
			Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: sp[1]},
			Images:     []haulv1.Image{{RepoURL: "registry.example/" + sp[1], Tag: "1.0.0"}},
		}
		if err := env.Client.Create(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGetFreightSelectsOnTheAPIServer: `haul get freight --warehouse W --alias A` asks
// the API server for only the matching Freight (the CRD's selectable fields), so a
// project of 100,000 Freight does not send them all; the answer is the same.
func TestGetFreightSelectsOnTheAPIServer(t *testing.T) {
	ns := "get-select"
	projectNamespace(t, ns)
	ctx := context.Background()
	createFreight(t, ns, [3]string{"a", "front", "able-ant"}, [3]string{"b", "back", "bold-bee"}, [3]string{"c", "front", "calm-cat"})
	// The API server itself selects.
	var list haulv1.FreightList
	if err := env.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{"origin.name": "front"}); err != nil {
		t.Fatalf("the Freight CRD does not select on origin.name: %v", err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("origin.name=front selected %d Freight, want 2", len(list.Items))
	}
	// And the CLI asks it to: every List it makes names the field.
	var selectors []string
	c := interceptor.NewClient(watchClient(t), interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			lo := (&client.ListOptions{}).ApplyOptions(opts)
			if lo.FieldSelector != nil {
				selectors = append(selectors, lo.FieldSelector.String())
			} else {
				selectors = append(selectors, "")
			}
			return c.List(ctx, l, opts...)
		},
	})
	s := &session{g: &GlobalOptions{Output: "name"}, client: c, project: ns}
	var out bytes.Buffer
	if err := runGet(ctx, s, &out, &out, kindByKind("Freight"), "", &getOptions{warehouse: "front", alias: "calm-cat"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "freight.haul.dev/"+strings.Repeat("c", 40)+"\n" {
		t.Fatalf("get freight --warehouse front --alias calm-cat = %q", got)
	}
	if len(selectors) == 1 {
		parts := strings.Split(selectors[0], ",")
		sort.Strings(parts)
		selectors[0] = strings.Join(parts, ",")
	}
	if len(selectors) != 1 || selectors[0] != "alias=calm-cat,origin.name=front" {
		t.Fatalf("the CLI listed with field selectors %q, want one list selecting alias and origin.name", selectors)
	}
}

// TestGetFreightSelectsInTheCLIWhenTheServerCannot: an API server that refuses the
// field selector (a Freight CRD from before selectable fields, or Kubernetes before
// 1.31) is asked for everything, and the CLI selects.
func TestGetFreightSelectsInTheCLIWhenTheServerCannot(t *testing.T) {
	ns := "get-select-old"
	projectNamespace(t, ns)
	ctx := context.Background()
	createFreight(t, ns, [3]string{"d", "front", "deft-doe"}, [3]string{"e", "back", "eager-elk"})
	c := interceptor.NewClient(watchClient(t), interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if lo := (&client.ListOptions{}).ApplyOptions(opts); lo.FieldSelector != nil && !lo.FieldSelector.Empty() {
				return apierrors.NewBadRequest(`field label not supported: origin.name`)
			}
			return c.List(ctx, l, opts...)
		},
	})
	s := &session{g: &GlobalOptions{Output: "name"}, client: c, project: ns}
	var out bytes.Buffer
	if err := runGet(ctx, s, &out, &out, kindByKind("Freight"), "", &getOptions{warehouse: "back"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "freight.haul.dev/"+strings.Repeat("e", 40)+"\n" {
		t.Fatalf("get freight --warehouse back against an old API server = %q", got)
	}
}

func watchClient(t *testing.T) client.WithWatch {
	t.Helper()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
