package promotion

import (
	"encoding/json"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// State is the engine's progress through a list of steps. The caller persists it
// (Promotion.status: currentStep, stepExecutionMetadata, state) after every step and
// hands it back to resume.
type State struct {
	// CurrentStep is the index of the next step to run (len(steps) when done).
	CurrentStep int `json:"currentStep"`
	// Steps has one entry per step, in order.
	Steps []haulv1.StepExecutionMetadata `json:"steps,omitempty"`
	// Outputs are step outputs by alias.
	Outputs map[string]any `json:"outputs,omitempty"`
	// HealthChecks were left behind by steps, in step order.
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
}

// StateFromStatus rebuilds a State from a Promotion's status.
func StateFromStatus(st *haulv1.PromotionStatus) (State, error) {
	s := State{CurrentStep: int(st.CurrentStep), Outputs: map[string]any{}}
	s.Steps = append(s.Steps, st.StepExecutionMetadata...)
	if st.State != nil && len(st.State.Raw) > 0 {
		if err := json.Unmarshal(st.State.Raw, &s.Outputs); err != nil {
			return s, fmt.Errorf("decoding status.state: %w", err)
		}
	}
	for _, hc := range st.HealthChecks {
		h := HealthCheck{Uses: hc.Uses}
		if hc.Config != nil && len(hc.Config.Raw) > 0 {
			if err := json.Unmarshal(hc.Config.Raw, &h.Config); err != nil {
				return s, fmt.Errorf("decoding status.healthChecks: %w", err)
			}
		}
		s.HealthChecks = append(s.HealthChecks, h)
	}
	return s, nil
}

// ApplyToStatus writes the State into a Promotion's status.
func (s State) ApplyToStatus(st *haulv1.PromotionStatus) error {
	st.CurrentStep = int32(s.CurrentStep)
	st.StepExecutionMetadata = append([]haulv1.StepExecutionMetadata(nil), s.Steps...)
	if len(s.Outputs) == 0 {
		st.State = nil
	} else {
		raw, err := json.Marshal(s.Outputs)
		if err != nil {
			return fmt.Errorf("encoding step outputs: %w", err)
		}
		st.State = &apiextensionsv1.JSON{Raw: raw}
	}
	st.HealthChecks = nil
	for _, h := range s.HealthChecks {
		hc := haulv1.HealthCheckStep{Uses: h.Uses}
		if h.Config != nil {
			raw, err := json.Marshal(h.Config)
			if err != nil {
				return fmt.Errorf("encoding health check: %w", err)
			}
			hc.Config = &apiextensionsv1.JSON{Raw: raw}
		}
		st.HealthChecks = append(st.HealthChecks, hc)
	}
	return nil
}

// DeepCopy returns an independent copy.
func (s State) DeepCopy() State {
	out := State{CurrentStep: s.CurrentStep}
	for _, m := range s.Steps {
		out.Steps = append(out.Steps, *m.DeepCopy())
	}
	out.Outputs = deepCopyMap(s.Outputs)
	for _, h := range s.HealthChecks {
		out.HealthChecks = append(out.HealthChecks, HealthCheck{Uses: h.Uses, Config: deepCopyMap(h.Config)})
	}
	return out
}

func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	var out map[string]any
	if json.Unmarshal(b, &out) != nil {
		return m
	}
	return out
}
