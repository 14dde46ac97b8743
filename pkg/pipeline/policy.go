package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// AutoPromotionEnabled says whether the project's policies let Haul promote Stage s on
// its own. The first policy whose selector matches s decides; no match (or no
// ProjectConfig) means off. A selector that cannot be parsed matches nothing, so a typo
// never switches automation on.
func AutoPromotionEnabled(cfg *haulv1.ProjectConfig, s *haulv1.Stage) bool {
	if cfg == nil {
		return false
	}
	for _, p := range cfg.Spec.PromotionPolicies {
		if ok, _ := SelectorMatches(p.StageSelector, s); ok {
			return p.AutoPromotionEnabled
		}
	}
	return false
}

// AutoRollbackFor returns the autoRollback settings of the first promotion policy that
// selects s (the policy that decides its auto-promotion too), nil when there are none.
func AutoRollbackFor(cfg *haulv1.ProjectConfig, s *haulv1.Stage) *haulv1.AutoRollbackConfig {
	if cfg == nil {
		return nil
	}
	for _, p := range cfg.Spec.PromotionPolicies {
		if ok, _ := SelectorMatches(p.StageSelector, s); ok {
			return p.AutoRollback
		}
	}
	return nil
}

// SelectorMatches says whether sel selects Stage s. The name may be exact, `glob:PATTERN`
// (shell pattern) or `regex:PATTERN` (unanchored Go regexp); labels must match too. An
// empty selector selects every Stage.
func SelectorMatches(sel haulv1.StageSelector, s *haulv1.Stage) (bool, error) {
	ok, err := nameMatches(sel.Name, s.Name)
	if err != nil || !ok {
		return false, err
	}
	if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		return true, nil
	}
	ls, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{
		MatchLabels:      sel.MatchLabels,
		MatchExpressions: sel.MatchExpressions,
	})
	if err != nil {
		return false, fmt.Errorf("stageSelector labels: %w", err)
	}
	return ls.Matches(labels.Set(s.Labels)), nil
}

func nameMatches(pattern, name string) (bool, error) {
	switch {
	case pattern == "":
		return true, nil
	case strings.HasPrefix(pattern, "glob:"):
		ok, err := path.Match(strings.TrimPrefix(pattern, "glob:"), name)
		if err != nil {
			return false, fmt.Errorf("stageSelector.name %q: %w", pattern, err)
		}
		return ok, nil
	case strings.HasPrefix(pattern, "regex:"):
		re, err := regexp.Compile(strings.TrimPrefix(pattern, "regex:"))
		if err != nil {
			return false, fmt.Errorf("stageSelector.name %q: %w", pattern, err)
		}
		return re.MatchString(name), nil
	default:
		return pattern == name, nil
	}
}
