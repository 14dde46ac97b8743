package steps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/haul-dev/haul/promotion"
)

type failConfig struct {
	Message string `json:"message,omitempty"`
}

type setMetadataConfig struct {
	Updates []metadataUpdate `json:"updates"`
}

type metadataUpdate struct {
	Kind   string         `json:"kind"`
	Name   string         `json:"name"`
	Values map[string]any `json:"values"`
}

func (c *setMetadataConfig) Validate() error {
	for i, u := range c.Updates {
		if u.Kind != "Freight" {
			return fmt.Errorf("updates[%d].kind %q: only Freight is supported", i, u.Kind)
		}
		if u.Name == "" {
			return fmt.Errorf("updates[%d].name must not be empty", i)
		}
	}
	return nil
}

// fail ends the step as Failed, typically guarded by an `if`. Its message is masked
// by the engine like every step message, so a message built from secret() shows "***".
func fail(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg failConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	msg := cfg.Message
	if msg == "" {
		msg = "failed by a fail step"
	}
	return promotion.StepResult{Status: promotion.StatusFailed, Message: msg}, nil
}

// composeOutput turns its (evaluated) config into its output. Values derived from
// Secrets reach later steps unmasked but are saved masked (see promotion.Secrets).
func composeOutput(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	out := map[string]any{}
	for k, v := range sc.Config {
		out[k] = v
	}
	return promotion.StepResult{Output: out}, nil
}

var freightGVR = schema.GroupVersionResource{Group: "haul.dev", Version: "v1alpha1", Resource: "freights"}

// setMetadata merges values into Freight.status.metadata in the project namespace.
func setMetadata(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg setMetadataConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	if sc.Services == nil || sc.Services.Dynamic == nil {
		return promotion.StepResult{}, promotion.Terminal(errors.New("set-metadata needs cluster access, which is not configured"))
	}
	for i, u := range cfg.Updates {
		// Freight metadata is readable by every viewer of the project (and any Stage
		// that can see the Freight): a value read from a Secret never goes there.
		if where, ok := sc.Secrets.Holds(map[string]any(u.Values)); ok {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d].values%s holds a value read from a Secret; Freight metadata is readable by project viewers, so it is not written", i, where))
		}
		patch, err := json.Marshal(map[string]any{"status": map[string]any{"metadata": u.Values}})
		if err != nil {
			return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("updates[%d].values: %w", i, err))
		}
		_, err = sc.Services.Dynamic.Resource(freightGVR).Namespace(sc.Project).
			Patch(ctx, u.Name, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil {
			return promotion.StepResult{}, fmt.Errorf("updates[%d]: setting metadata on Freight %q: %w", i, u.Name, err)
		}
	}
	return promotion.StepResult{}, nil
}
