package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

type argoCDWaitConfig struct {
	Apps []argoCDWaitApp `json:"apps"`
}

// argoCDWaitApp names Applications and, as Kargo's waitFor, what to wait for.
type argoCDWaitApp struct {
	argoCDAppRef
	// WaitFor lists health, sync, operation, suspended and degraded. The health
	// conditions (health, suspended, degraded) are OR'd, the others AND'd. Empty
	// means health, sync and operation.
	WaitFor []string `json:"waitFor,omitempty"`
}

func (c *argoCDWaitConfig) Validate() error {
	if len(c.Apps) == 0 {
		return errors.New("apps: at least one Application is required")
	}
	for i, a := range c.Apps {
		if (a.Name == "") == (a.Selector == nil) {
			return fmt.Errorf("apps[%d]: set exactly one of name or selector", i)
		}
		seen := map[string]bool{}
		for j, w := range a.WaitFor {
			switch w {
			case "health", "sync", "operation", "suspended", "degraded":
			default:
				return fmt.Errorf("apps[%d].waitFor[%d] %q must be one of health, sync, operation, suspended and degraded", i, j, w)
			}
			if seen[w] {
				return fmt.Errorf("apps[%d].waitFor lists %q twice", i, w)
			}
			seen[w] = true
		}
	}
	return nil
}

// argoCDWait waits until Applications are Synced and Healthy (health assessed after
// their last sync). A failed sync fails the step; anything else keeps it Running, so
// bound it with retry.timeout. It leaves a health check like argocd-update. An app
// with waitFor waits for exactly those conditions instead (Kargo's rules, see
// waitForMet), and leaves no health check: the Stage's health would otherwise demand
// Synced and Healthy of an Application the user chose to accept Suspended or Degraded.
func argoCDWait(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg argoCDWaitConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dyn, err := reconcilerClient(sc, "argocd-wait")
	if err != nil {
		return promotion.StepResult{}, err
	}
	var waiting []string
	var checks []any
	custom := false
	for i, ref := range cfg.Apps {
		apps, err := resolveApps(ctx, dyn, ref.argoCDAppRef, fmt.Sprintf("apps[%d]", i))
		if err != nil {
			return promotion.StepResult{}, err
		}
		if len(ref.WaitFor) > 0 {
			custom = true
			for _, app := range apps {
				ok, issue, failed := waitForMet(app, ref.WaitFor)
				if failed {
					return promotion.StepResult{Status: promotion.StatusFailed, Message: issue}, nil
				}
				if !ok {
					waiting = append(waiting, issue)
				}
				checks = append(checks, map[string]any{"name": app.GetName(), "namespace": app.GetNamespace()})
			}
			continue
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
	if custom {
		return promotion.StepResult{Message: fmt.Sprintf("%d Application(s) meet their waitFor conditions", len(checks))}, nil
	}
	return promotion.StepResult{
		Message:     fmt.Sprintf("%d Application(s) Synced and Healthy", len(checks)),
		HealthCheck: &promotion.HealthCheck{Uses: "argocd-wait", Config: map[string]any{"apps": checks}},
	}, nil
}

// waitForMet applies Kargo's waitFor rules to an Application as read: "operation"
// waits while an operation is requested or unfinished; the health conditions wait
// until Argo CD assessed health after the last operation finished, then pass when
// any of them holds (health: Healthy, suspended: Suspended, degraded: Degraded);
// "sync" waits for Synced. A failed last operation fails the step when operation or
// sync is awaited, since waiting longer cannot help.
func waitForMet(app *unstructured.Unstructured, waitFor []string) (ok bool, issue string, failed bool) {
	key := app.GetNamespace() + "/" + app.GetName()
	want := map[string]bool{}
	for _, w := range waitFor {
		want[w] = true
	}
	op := mapOf(app.Object, "status", "operationState")
	phase, _ := op["phase"].(string)
	if (want["operation"] || want["sync"]) && (phase == "Failed" || phase == "Error") {
		msg, _ := op["message"].(string)
		return false, fmt.Sprintf("Application %s: last sync %s: %s", key, phase, msg), true
	}
	if want["operation"] {
		if _, requested := app.Object["operation"]; requested || (len(op) > 0 && timeOf(op, "finishedAt").IsZero()) {
			return false, fmt.Sprintf("Application %s: an operation is running", key), false
		}
	}
	if want["health"] || want["suspended"] || want["degraded"] {
		if finished := timeOf(op, "finishedAt"); !finished.IsZero() && timeOf(mapOf(app.Object, "status"), "reconciledAt").Before(finished) {
			return false, fmt.Sprintf("Application %s: waiting for Argo CD to assess health after the sync", key), false
		}
		h := stringOf(app.Object, "status", "health", "status")
		healthOK := want["health"] && h == "Healthy" || want["suspended"] && h == "Suspended" || want["degraded"] && h == "Degraded"
		if !healthOK {
			return false, fmt.Sprintf("Application %s is %s", key, orUnknown(h)), false
		}
	}
	if want["sync"] {
		if st := stringOf(app.Object, "status", "sync", "status"); st != "Synced" {
			return false, fmt.Sprintf("Application %s is %s", key, orUnknown(st)), false
		}
	}
	return true, "", false
}
