package shard_test

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/haul-dev/haul/pkg/shard"
)

func TestSelectorTakesOnlyTheShardsObjects(t *testing.T) {
	objects := map[string]labels.Set{
		"unlabelled": {},
		"other":      {"app": "x"},
		"shard a":    {shard.Label: "a"},
		"shard b":    {shard.Label: "b"},
		"empty":      {shard.Label: ""},
	}
	tests := map[string]struct {
		shard string
		want  []string
	}{
		"default controller takes objects without the label": {"", []string{"other", "unlabelled"}},
		"shard a takes only its own":                         {"a", []string{"shard a"}},
		"shard b takes only its own":                         {"b", []string{"shard b"}},
		"a shard nobody labelled for takes nothing":          {"c", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sel := shard.Selector(tc.shard)
			var got []string
			for obj, l := range objects {
				if sel.Matches(l) {
					got = append(got, obj)
				}
			}
			if strings.Join(sorted(got), ",") != strings.Join(tc.want, ",") {
				t.Fatalf("selector %q matched %v, want %v", sel, sorted(got), tc.want)
			}
		})
	}
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

func TestLeaseNamePerShard(t *testing.T) {
	if got := shard.LeaseName(""); got != "haul-controller.haul.dev" {
		t.Errorf("default shard's Lease is %q", got)
	}
	if got := shard.LeaseName("eu-west"); got != "haul-controller-eu-west.haul.dev" {
		t.Errorf("shard eu-west's Lease is %q", got)
	}
}

func TestValidateNamesTheFlagAndValue(t *testing.T) {
	for _, ok := range []string{"", "a", "eu-west-1"} {
		if err := shard.Validate("--shard", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	err := shard.Validate("--shard", "EU_West")
	var ie *shard.InvalidNameError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `--shard "EU_West"`) {
		t.Fatalf("got %v, want an InvalidNameError naming --shard and the value", err)
	}
}

func TestInheritCopiesTheParentsShard(t *testing.T) {
	got := shard.Inherit(map[string]string{"x": "1"}, map[string]string{shard.Label: "a"})
	if got[shard.Label] != "a" || got["x"] != "1" {
		t.Errorf("got %v", got)
	}
	got = shard.Inherit(map[string]string{shard.Label: "b"}, nil)
	if _, ok := got[shard.Label]; ok {
		t.Errorf("an unsharded parent's child kept label: %v", got)
	}
}
