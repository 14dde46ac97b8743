package pipeline

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestAutoPromotionEnabled(t *testing.T) {
	policy := func(sel haulv1.StageSelector, on bool) haulv1.PromotionPolicy {
		return haulv1.PromotionPolicy{StageSelector: sel, AutoPromotionEnabled: on}
	}
	labelled := func(name string, l map[string]string) *haulv1.Stage {
		s := stage(name, direct(wh))
		s.Labels = l
		return s
	}
	tests := []struct {
		name     string
		policies []haulv1.PromotionPolicy
		stage    *haulv1.Stage
		want     bool
	}{
		{"no policies means off", nil, labelled("test", nil), false},
		{"exact name", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "test"}, true)}, labelled("test", nil), true},
		{"exact name does not match a prefix", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "test"}, true)}, labelled("test-eu", nil), false},
		{"glob", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "glob:test-*"}, true)}, labelled("test-eu", nil), true},
		{"glob that does not match", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "glob:test-*"}, true)}, labelled("prod", nil), false},
		{"regex", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "regex:^(test|uat)$"}, true)}, labelled("uat", nil), true},
		{"invalid regex matches nothing", []haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "regex:("}, true)}, labelled("uat", nil), false},
		{"first matching policy wins over a later one",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "prod"}, false), policy(haulv1.StageSelector{Name: "glob:*"}, true)},
			labelled("prod", nil), false},
		{"a non-matching first policy falls through",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "prod"}, false), policy(haulv1.StageSelector{Name: "glob:*"}, true)},
			labelled("uat", nil), true},
		{"matchLabels",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{MatchLabels: map[string]string{"tier": "pre"}}, true)},
			labelled("uat", map[string]string{"tier": "pre"}), true},
		{"matchLabels with a different value",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{MatchLabels: map[string]string{"tier": "pre"}}, true)},
			labelled("prod", map[string]string{"tier": "prod"}), false},
		{"matchExpressions NotIn",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"prod"}}}}, true)},
			labelled("uat", map[string]string{"tier": "pre"}), true},
		{"name and labels must both match",
			[]haulv1.PromotionPolicy{policy(haulv1.StageSelector{Name: "uat", MatchLabels: map[string]string{"tier": "pre"}}, true)},
			labelled("uat", nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &haulv1.ProjectConfig{Spec: haulv1.ProjectConfigSpec{PromotionPolicies: tt.policies}}
			if got := AutoPromotionEnabled(cfg, tt.stage); got != tt.want {
				t.Errorf("AutoPromotionEnabled = %v, want %v", got, tt.want)
			}
		})
	}
	if AutoPromotionEnabled(nil, labelled("test", nil)) {
		t.Error("a project without ProjectConfig must not auto-promote")
	}
}
