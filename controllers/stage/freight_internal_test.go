package stage

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestSoakRuns(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	col := func(at time.Duration, names ...string) haulv1.FreightCollection {
		c := haulv1.FreightCollection{PromotedAt: &metav1.Time{Time: t0.Add(at)}, Items: map[string]haulv1.FreightReference{}}
		for i, n := range names {
			c.Items[string(rune('a'+i))] = haulv1.FreightReference{Name: n}
		}
		return c
	}
	tests := []struct {
		name    string
		history []haulv1.FreightCollection // newest first
		want    map[string]time.Duration
	}{
		{"nothing has left yet", []haulv1.FreightCollection{col(0, "f1")}, map[string]time.Duration{}},
		{"a replaced Freight soaked until the next promotion",
			[]haulv1.FreightCollection{col(3*time.Hour, "f2"), col(time.Hour, "f1")}, map[string]time.Duration{"f1": 2 * time.Hour}},
		{"a stay spanning several collections counts once, whole",
			[]haulv1.FreightCollection{col(5*time.Hour, "f3", "g2"), col(2*time.Hour, "f1", "g2"), col(0, "f1", "g1")},
			map[string]time.Duration{"f1": 5 * time.Hour, "g1": 2 * time.Hour}},
		{"the longest of two stays wins",
			[]haulv1.FreightCollection{col(10*time.Hour, "f2"), col(9*time.Hour, "f1"), col(8*time.Hour, "f2"), col(0, "f1")},
			map[string]time.Duration{"f1": 8 * time.Hour, "f2": time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := soakRuns(tt.history)
			if len(got) != len(tt.want) {
				t.Fatalf("soakRuns = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s soaked %s, want %s", k, got[k], v)
				}
			}
		})
	}
}
