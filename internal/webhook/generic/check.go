package generic

import (
	"fmt"
	"strings"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// Check compiles and type-checks every expression of a generic receiver's actions as
// the receiver will run them, and refuses what Haul cannot do, each message starting
// with the field's path under path (e.g. spec.webhookReceivers[0].generic) and naming
// the expression or value.
func Check(path string, g *haulv1.GenericWebhookProvider) []string {
	if g == nil {
		return nil
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for i, a := range g.Actions {
		ap := fmt.Sprintf("%s.actions[%d]", path, i)
		if a.Action != haulv1.GenericWebhookActionRefresh {
			bad("%s.action: %q is not an action Haul runs: the one action is Refresh", ap, a.Action)
		}
		if a.WhenExpression != "" {
			if strings.Contains(a.WhenExpression, "${{") {
				bad("%s.whenExpression: expression %q: a whenExpression is a bare expression, without ${{ }}", ap, short(a.WhenExpression))
			} else if _, err := compile(a.WhenExpression, true); err != nil {
				bad("%s.whenExpression: expression %q: %s", ap, short(a.WhenExpression), firstLine(err))
			}
		}
		for k, v := range a.Parameters {
			if err := CheckTemplate(v); err != nil {
				bad("%s.parameters.%s: %s", ap, k, err)
			}
		}
		for j, t := range a.TargetSelectionCriteria {
			tp := fmt.Sprintf("%s.targetSelectionCriteria[%d]", ap, j)
			out = append(out, checkCriteria(tp, t)...)
		}
	}
	return out
}

func checkCriteria(tp string, t haulv1.GenericWebhookTargetSelectionCriteria) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if t.Kind != haulv1.GenericWebhookTargetWarehouse && t.Kind != haulv1.GenericWebhookTargetPromotion {
		bad("%s.kind: %q is not a kind a generic action selects (Warehouse or Promotion)", tp, t.Kind)
	}
	if t.Name == "" && t.LabelSelector == nil && t.IndexSelector == nil {
		bad("%s: at least one of name, labelSelector or indexSelector must be set", tp)
	}
	if err := CheckTemplate(t.Name); err != nil {
		bad("%s.name: %s", tp, err)
	}
	if ls := t.LabelSelector; ls != nil {
		for k, v := range ls.MatchLabels {
			if err := CheckTemplate(v); err != nil {
				bad("%s.labelSelector.matchLabels.%s: %s", tp, k, err)
			}
		}
		for i, e := range ls.MatchExpressions {
			for j, v := range e.Values {
				if err := CheckTemplate(v); err != nil {
					bad("%s.labelSelector.matchExpressions[%d].values[%d]: %s", tp, i, j, err)
				}
			}
		}
	}
	if is := t.IndexSelector; is != nil {
		if t.Kind == haulv1.GenericWebhookTargetPromotion {
			bad("%s.indexSelector: only Warehouses are indexed (by subscribedURLs); select Promotions by name or labels", tp)
		}
		for i, m := range is.MatchIndices {
			mp := fmt.Sprintf("%s.indexSelector.matchIndices[%d]", tp, i)
			switch m.Key {
			case haulv1.IndexSubscribedURLs:
			case "receiverPaths":
				bad("%s.key: receiverPaths indexes ProjectConfigs, which a generic action cannot select; use subscribedURLs", mp)
			default:
				bad("%s.key: %q is not an index (subscribedURLs)", mp, m.Key)
			}
			if m.Operator != haulv1.IndexSelectorEquals && m.Operator != haulv1.IndexSelectorNotEquals {
				bad("%s.operator: %q is not Equals or NotEquals", mp, m.Operator)
			}
			if err := CheckTemplate(m.Value); err != nil {
				bad("%s.value: %s", mp, err)
			}
		}
	}
	return out
}

// CheckTemplate compiles and type-checks every ${{ }} expression of s.
func CheckTemplate(s string) error {
	rest := s
	for {
		_, body, after, found, err := next(rest)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		if _, err := compile(strings.TrimSpace(body), false); err != nil {
			return fmt.Errorf("expression %q: %s", short(body), firstLine(err))
		}
		rest = after
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
