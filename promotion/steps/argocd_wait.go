package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

type argoCDWaitConfig struct {
	Apps []argoCDAppRef `json:"apps"`
}

func (c *argoCDWaitConfig) Validate() error {
	if len(c.Apps) == 0 {
		return errors.New("apps: at least one Application is required")
	}
	for i, a := range c.Apps {
		if (a.Name == "") == (a.Selector == nil) {
			return fmt.Errorf("apps[%d]: set exactly one of name or selector", i)
		}
	}
	return nil
}

// argoCDWait waits until Applications are Synced and Healthy (health assessed after
// their last sync). A failed sync fails the step; anything else keeps it Running, so
// bound it with retry.timeout. It leaves a health check like argocd-update.
func argoCDWait(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg argoCDWaitConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dyn, err := dynamicClient(sc, "argocd-wait")
	if err != nil {
		return promotion.StepResult{}, err
	}
	var waiting []string
	var checks []any
	for i, ref := range cfg.Apps {
		apps, err := resolveApps(ctx, dyn, ref, fmt.Sprintf("apps[%d]", i))
		if err != nil {
			return promotion.StepResult{}, err
		}
		for _, app := range apps {
			st, issue := applicationHealth(ctx, dyn, app.GetNamespace(), app.GetName(), nil)
			if st != haulv1.HealthHealthy {
				if strings.Contains(issue, "last sync Failed") || strings.Contains(issue, "last sync Error") {
					return promotion.StepResult{Status: promotion.StatusFailed, Message: issue}, nil
				}
				waiting = append(waiting, issue)
			}
			checks = append(checks, map[string]any{"name": app.GetName(), "namespace": app.GetNamespace()})
		}
	}
	if len(waiting) > 0 {
		// Poll the Applications often: Argo CD usually settles within seconds.
		return promotion.StepResult{Status: promotion.StatusRunning, Message: strings.Join(waiting, "; "), RequeueAfter: 500 * time.Millisecond}, nil
	}
	return promotion.StepResult{
		Message:     fmt.Sprintf("%d Application(s) Synced and Healthy", len(checks)),
		HealthCheck: &promotion.HealthCheck{Uses: "argocd-wait", Config: map[string]any{"apps": checks}},
	}, nil
}
