package webhook

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/webhook/generic"
	"github.com/haul-dev/haul/warehouse"
)

// Results of a generic action, as Kargo names them.
const (
	resultNotApplicable  = "NotApplicable"
	resultError          = "Error"
	resultSuccess        = "Success"
	resultPartialSuccess = "PartialSuccess"
	resultFailure        = "Failure"
)

// actionResult is one action's entry in the answer, in Kargo's shape: the action as
// configured, whether its whenExpression held, what it selected and how it went.
type actionResult struct {
	haulv1.GenericWebhookAction `json:",inline"`
	MatchedWhenExpression       bool             `json:"matchedWhenExpression"`
	SelectedTargets             []selectedTarget `json:"selectedTargets,omitempty"`
	Result                      string           `json:"result,omitempty"`
	Summary                     string           `json:"summary,omitempty"`
}

type selectedTarget struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Success   bool   `json:"success"`
}

// actionsResponse is the answer of a generic receiver with actions.
type actionsResponse struct {
	Results []actionResult `json:"results"`
	Message string         `json:"message,omitempty"`
}

// serveActions runs every action of a generic receiver, as Kargo does: each whose
// whenExpression holds refreshes what its criteria select. The answer is 200 when every
// action succeeded or did not apply, 500 when one failed, partly or wholly; a body
// that is not JSON is 400 and runs nothing.
func (h *Handler) serveActions(ctx context.Context, w http.ResponseWriter, r *http.Request, rc receiverConfig, body []byte) {
	env, err := generic.NewEnv(r, body)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, response{Message: truncate(err.Error(), 200)})
		return
	}
	results := make([]actionResult, len(rc.generic.Actions))
	code := http.StatusOK
	for i, a := range rc.generic.Actions {
		results[i] = h.runAction(ctx, rc, a, env)
		if log.FromContext(ctx).V(1).Enabled() {
			log.FromContext(ctx).V(1).Info("Ran a generic webhook action", "receiver", rc.key, "action", i, "result", results[i].Result)
		}
		switch results[i].Result {
		case resultError, resultFailure, resultPartialSuccess:
			code = http.StatusInternalServerError
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = jsonEncode(w, actionsResponse{Results: results})
}

func (h *Handler) runAction(ctx context.Context, rc receiverConfig, a haulv1.GenericWebhookAction, env generic.Env) actionResult {
	ar := actionResult{GenericWebhookAction: a}
	params, err := generic.Parameters(a.Parameters, env)
	if err != nil {
		ar.Result, ar.Summary = resultError, "Error evaluating parameters: "+summaryOf(err)
		return ar
	}
	env.Params = params
	met, err := generic.When(a.WhenExpression, env)
	if err != nil {
		ar.Result, ar.Summary = resultError, "Error evaluating whenExpression: "+summaryOf(err)
		return ar
	}
	ar.MatchedWhenExpression = met
	if !met {
		ar.Result, ar.Summary = resultNotApplicable, "Request did not match whenExpression"
		return ar
	}
	targets, err := h.selectTargets(ctx, rc.project, a.TargetSelectionCriteria, env)
	if err != nil {
		log.FromContext(ctx).Error(err, "Selecting the targets of a generic webhook action", "receiver", rc.key)
		ar.Result, ar.Summary = resultError, "Error evaluating targetSelectionCriteria: "+summaryOf(err)
		return ar
	}
	if a.Action != haulv1.GenericWebhookActionRefresh {
		ar.Result, ar.Summary = resultError, fmt.Sprintf("action %q is not supported", a.Action)
		return ar
	}
	value := h.now().UTC().Format(time.RFC3339Nano)
	ok := 0
	for _, o := range targets {
		t := selectedTarget{Kind: kindOf(o), Namespace: o.GetNamespace(), Name: o.GetName()}
		if err := h.c.Patch(ctx, o, refreshPatch(value)); err != nil {
			if !apierrors.IsNotFound(err) {
				log.FromContext(ctx).Error(err, "Refreshing from a generic webhook action", "receiver", rc.key, "kind", t.Kind, "object", client.ObjectKeyFromObject(o))
			}
		} else {
			t.Success = true
			ok++
		}
		ar.SelectedTargets = append(ar.SelectedTargets, t)
	}
	switch {
	case ok == len(targets):
		ar.Result = resultSuccess
	case ok == 0:
		ar.Result = resultFailure
	default:
		ar.Result = resultPartialSuccess
	}
	ar.Summary = fmt.Sprintf("Refreshed %d of %d selected resources", ok, len(targets))
	return ar
}

// summaryOf is an error's first line, shortened, for an action's summary.
func summaryOf(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return truncate(s, 300)
}

func kindOf(o client.Object) string {
	if _, ok := o.(*haulv1.Promotion); ok {
		return string(haulv1.GenericWebhookTargetPromotion)
	}
	return string(haulv1.GenericWebhookTargetWarehouse)
}

// selectTargets returns the union of what the criteria select, sorted and without
// duplicates. Every list is confined to project (every namespace for a ClusterConfig
// receiver), whatever the request says: names are compared, never used to address an
// object, so no value from the request can reach another project.
func (h *Handler) selectTargets(ctx context.Context, project string, criteria []haulv1.GenericWebhookTargetSelectionCriteria, env generic.Env) ([]client.Object, error) {
	var out []client.Object
	for i, t := range criteria {
		objs, err := h.selectOne(ctx, project, t, env)
		if err != nil {
			return nil, fmt.Errorf("targetSelectionCriteria[%d]: %w", i, err)
		}
		out = append(out, objs...)
	}
	key := func(o client.Object) string { return kindOf(o) + "/" + o.GetNamespace() + "/" + o.GetName() }
	slices.SortFunc(out, func(a, b client.Object) int { return strings.Compare(key(a), key(b)) })
	return slices.CompactFunc(out, func(a, b client.Object) bool { return key(a) == key(b) }), nil
}

func (h *Handler) selectOne(ctx context.Context, project string, t haulv1.GenericWebhookTargetSelectionCriteria, env generic.Env) ([]client.Object, error) {
	if t.Name == "" && t.LabelSelector == nil && t.IndexSelector == nil {
		return nil, fmt.Errorf("at least one of name, labelSelector or indexSelector must be set")
	}
	opts := scope(project)
	if t.LabelSelector != nil {
		sel, err := labelSelector(*t.LabelSelector, env)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	name := ""
	if t.Name != "" {
		var err error
		if name, err = generic.Template(t.Name, env); err != nil {
			return nil, fmt.Errorf("name: %w", err)
		}
	}
	var objs []client.Object
	switch t.Kind {
	case haulv1.GenericWebhookTargetWarehouse:
		var list haulv1.WarehouseList
		if err := h.c.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing Warehouses: %w", err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	case haulv1.GenericWebhookTargetPromotion:
		if t.IndexSelector != nil {
			return nil, fmt.Errorf("indexSelector: only Warehouses are indexed")
		}
		var list haulv1.PromotionList
		if err := h.c.List(ctx, &list, opts...); err != nil {
			return nil, fmt.Errorf("listing Promotions: %w", err)
		}
		for i := range list.Items {
			objs = append(objs, &list.Items[i])
		}
	default:
		return nil, fmt.Errorf("kind %q is not Warehouse or Promotion", t.Kind)
	}
	var match []func(client.Object) bool
	if t.Name != "" {
		match = append(match, func(o client.Object) bool { return o.GetName() == name })
	}
	if t.IndexSelector != nil {
		for i, m := range t.IndexSelector.MatchIndices {
			f, err := indexMatcher(m, env)
			if err != nil {
				return nil, fmt.Errorf("indexSelector.matchIndices[%d]: %w", i, err)
			}
			match = append(match, f)
		}
	}
	var out []client.Object
	for _, o := range objs {
		if project != "" && o.GetNamespace() != project {
			continue // never: the list is confined; kept as a second lock
		}
		if !slices.ContainsFunc(match, func(f func(client.Object) bool) bool { return !f(o) }) {
			out = append(out, o)
		}
	}
	return out, nil
}

// labelSelector evaluates the templates of a label selector's values.
func labelSelector(ls metav1.LabelSelector, env generic.Env) (labels.Selector, error) {
	ls = *ls.DeepCopy()
	for k, v := range ls.MatchLabels {
		s, err := generic.Template(v, env)
		if err != nil {
			return nil, fmt.Errorf("labelSelector.matchLabels.%s: %w", k, err)
		}
		ls.MatchLabels[k] = s
	}
	for i, e := range ls.MatchExpressions {
		for j, v := range e.Values {
			s, err := generic.Template(v, env)
			if err != nil {
				return nil, fmt.Errorf("labelSelector.matchExpressions[%d].values[%d]: %w", i, j, err)
			}
			ls.MatchExpressions[i].Values[j] = s
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil {
		return nil, fmt.Errorf("labelSelector: %w", err)
	}
	return sel, nil
}

// indexMatcher compares a Warehouse's subscribed repositories with the evaluated value,
// both normalised as the push receivers normalise them.
func indexMatcher(m haulv1.IndexSelectorRequirement, env generic.Env) (func(client.Object) bool, error) {
	if m.Key != haulv1.IndexSubscribedURLs {
		return nil, fmt.Errorf("key %q is not an index Haul has (subscribedURLs)", m.Key)
	}
	v, err := generic.Template(m.Value, env)
	if err != nil {
		return nil, fmt.Errorf("value: %w", err)
	}
	want := map[string]bool{}
	if n := warehouse.NormalizeRepoURL(v); n != "" {
		want[n] = true
	}
	has := func(o client.Object) bool {
		wh, ok := o.(*haulv1.Warehouse)
		return ok && subscribes(wh, want)
	}
	switch m.Operator {
	case haulv1.IndexSelectorEquals:
		return has, nil
	case haulv1.IndexSelectorNotEquals:
		return func(o client.Object) bool { return !has(o) }, nil
	}
	return nil, fmt.Errorf("operator %q is not Equals or NotEquals", m.Operator)
}
