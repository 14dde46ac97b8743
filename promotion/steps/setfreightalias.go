package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// freightAliasPattern is the alias format the Freight CRD enforces; checking it here
// gives a clear error before the API server's.
var freightAliasPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

type setFreightAliasConfig struct {
	Name  string `json:"name"`
	Alias string `json:"alias"`
}

// Validate checks the alias against the Freight CRD's rules.
func (c *setFreightAliasConfig) Validate() error {
	if c.Name == "" {
		return fmt.Errorf("name must not be empty")
	}
	if len(c.Alias) > 63 || !freightAliasPattern.MatchString(c.Alias) {
		return fmt.Errorf("alias %q is invalid: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", c.Alias)
	}
	return nil
}

// setFreightAlias renames a Freight of the Promotion's project: it sets .alias and the
// haul.dev/alias label that mirrors it, refusing an alias another Freight of the
// project already has.
func setFreightAlias(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg setFreightAliasConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dyn, err := dynamicClient(sc, "set-freight-alias")
	if err != nil {
		return promotion.StepResult{}, err
	}
	freights := dyn.Resource(freightGVR).Namespace(sc.Project)
	f, err := freights.Get(ctx, cfg.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("freight %q not found in project %q", cfg.Name, sc.Project))
	}
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("getting Freight %q in project %q: %w", cfg.Name, sc.Project, err)
	}
	old := aliasOf(f)
	if old == cfg.Alias && f.GetLabels()[haulv1.LabelAlias] == cfg.Alias {
		return promotion.StepResult{Message: fmt.Sprintf("Freight %q already has alias %q", cfg.Name, cfg.Alias)}, nil
	}
	if err := aliasUnused(ctx, sc, cfg); err != nil {
		return promotion.StepResult{}, err
	}
	patch, err := json.Marshal(map[string]any{
		"alias":    cfg.Alias,
		"metadata": map[string]any{"labels": map[string]string{haulv1.LabelAlias: cfg.Alias}},
	})
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("encoding the alias patch: %w", err)
	}
	if _, err := freights.Patch(ctx, cfg.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			err = promotion.Terminal(err)
		}
		return promotion.StepResult{}, fmt.Errorf("setting the alias of Freight %q in project %q: %w", cfg.Name, sc.Project, err)
	}
	return promotion.StepResult{Message: fmt.Sprintf("updated alias of Freight %q from %q to %q", cfg.Name, old, cfg.Alias)}, nil
}

// aliasUnused fails when another Freight of the project has the alias, in its field or
// in its label.
func aliasUnused(ctx context.Context, sc *promotion.StepContext, cfg setFreightAliasConfig) error {
	list, err := sc.Services.Dynamic.Resource(freightGVR).Namespace(sc.Project).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing Freight in project %q to check the alias is unique: %w", sc.Project, err)
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.GetName() != cfg.Name && (aliasOf(o) == cfg.Alias || o.GetLabels()[haulv1.LabelAlias] == cfg.Alias) {
			return promotion.Terminal(fmt.Errorf("alias %q is already used by Freight %q in project %q", cfg.Alias, o.GetName(), sc.Project))
		}
	}
	return nil
}

func aliasOf(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "alias")
	return s
}
