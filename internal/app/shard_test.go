package app

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/shard"
)

// TestShardCacheHoldsOnlyItsShardsObjects: the cache of `haul controller --shard a`
// holds the Warehouses, Stages and Promotions labelled haul.dev/shard=a, the default
// controller's those without the label, and both hold every Freight (a Stage may take
// Freight from another shard's Warehouse).
func TestShardCacheHoldsOnlyItsShardsObjects(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := env.Namespace(t, "shard-cache")
	for i, s := range []string{"", "a", "b"} {
		labels := map[string]string{}
		name := "default"
		if s != "" {
			labels[shard.Label], name = s, s
		}
		meta := func(n string) metav1.ObjectMeta {
			return metav1.ObjectMeta{Namespace: ns, Name: n, Labels: labels}
		}
		objs := []client.Object{
			&haulv1.Warehouse{ObjectMeta: meta("wh-" + name), Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: "registry.example/app"}}}}},
			&haulv1.Stage{ObjectMeta: meta("st-" + name), Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
				Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "wh-" + name}, Sources: haulv1.FreightSources{Direct: true}}}}},
			&haulv1.Promotion{ObjectMeta: meta("pr-" + name), Spec: haulv1.PromotionSpec{Stage: "st-" + name, Freight: "f"}},
			&haulv1.Freight{ObjectMeta: meta(fmt.Sprintf("%040d", i)), Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "wh-" + name},
				Images: []haulv1.Image{{RepoURL: "registry.example/app", Tag: name}}},
		}
		for _, o := range objs {
			if err := env.Client.Create(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		shard                      string
		warehouses, stages, promos string
		freight                    int
	}{
		{"", "wh-default", "st-default", "pr-default", 3},
		{"a", "wh-a", "st-a", "pr-a", 3},
		{"b", "wh-b", "st-b", "pr-b", 3},
	} {
		t.Run("shard "+shardName(tc.shard), func(t *testing.T) {
			opts := ShardCache(tc.shard)
			opts.Scheme = Scheme()
			opts.DefaultNamespaces = map[string]cache.Config{ns: {}}
			c, err := cache.New(env.Config, opts)
			if err != nil {
				t.Fatal(err)
			}
			cctx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { _ = c.Start(cctx) }()
			if !c.WaitForCacheSync(cctx) {
				t.Fatal("cache did not sync")
			}
			names := func(l client.ObjectList) string {
				if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
					t.Fatal(err)
				}
				var out []string
				switch l := l.(type) {
				case *haulv1.WarehouseList:
					for _, o := range l.Items {
						out = append(out, o.Name)
					}
				case *haulv1.StageList:
					for _, o := range l.Items {
						out = append(out, o.Name)
					}
				case *haulv1.PromotionList:
					for _, o := range l.Items {
						out = append(out, o.Name)
					}
				case *haulv1.FreightList:
					for _, o := range l.Items {
						out = append(out, o.Name)
					}
				}
				sort.Strings(out)
				return strings.Join(out, ",")
			}
			if got := names(&haulv1.WarehouseList{}); got != tc.warehouses {
				t.Errorf("Warehouses %q, want %q", got, tc.warehouses)
			}
			if got := names(&haulv1.StageList{}); got != tc.stages {
				t.Errorf("Stages %q, want %q", got, tc.stages)
			}
			if got := names(&haulv1.PromotionList{}); got != tc.promos {
				t.Errorf("Promotions %q, want %q", got, tc.promos)
			}
			if got := strings.Count(names(&haulv1.FreightList{}), ",") + 1; got != tc.freight {
				t.Errorf("%d Freight, want every shard's %d", got, tc.freight)
			}
		})
	}
}

func shardName(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

func TestControllerUserAgentNamesTheShard(t *testing.T) {
	if got := ControllerUserAgent(""); got != "haul-controller" {
		t.Errorf("default: %q", got)
	}
	if got := ControllerUserAgent("eu"); got != "haul-controller-eu" {
		t.Errorf("eu: %q", got)
	}
}
