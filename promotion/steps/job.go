package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// LabelJobStep marks Jobs made by the job step, with the Stage as value.
const LabelJobStep = haulv1.LabelJobStep

type jobConfig struct {
	// Template is a batch/v1 JobSpec.
	Template *batchv1.JobSpec `json:"template"`
}

func (c *jobConfig) Validate() error {
	if c.Template == nil || len(c.Template.Template.Spec.Containers) == 0 {
		return errors.New("template.template.spec.containers: at least one container is required")
	}
	return nil
}

// jobStep runs a Kubernetes Job from config.template in the project namespace. It
// succeeds when the Job completes and fails when the Job fails; output `name` is the
// Job's name, so its logs can be fetched (`haul logs`, or the Job's pods by label
// job-name). The Job's name is derived from the Promotion and step, so a replay finds
// the Job it already created.
func jobStep(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg jobConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	if sc.Services == nil || sc.Services.Kube == nil {
		return promotion.StepResult{}, promotion.Terminal(errors.New("job needs cluster access, which this controller was not given"))
	}
	jobs := sc.Services.Kube.BatchV1().Jobs(sc.Project)
	name := JobName(sc.Promotion, sc.Alias)
	out := map[string]any{"name": name, "namespace": sc.Project}

	job, err := jobs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		spec := cfg.Template.DeepCopy()
		if spec.Template.Spec.RestartPolicy == "" {
			spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}
		if spec.BackoffLimit == nil {
			spec.BackoffLimit = ptrTo[int32](0)
		}
		job = &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{
				Name:      name,
				Namespace: sc.Project,
				Labels:    map[string]string{LabelJobStep: sc.Stage, haulv1.LabelStage: sc.Stage},
				Annotations: map[string]string{
					haulv1.AnnotationPromotion: sc.Promotion,
					haulv1.AnnotationStep:      sc.Alias,
				},
			},
			Spec: *spec,
		}
		if _, err := jobs.Create(ctx, job, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
				return promotion.StepResult{}, promotion.Terminal(fmt.Errorf("creating Job %s/%s: %w", sc.Project, name, err))
			}
			return promotion.StepResult{}, fmt.Errorf("creating Job %s/%s: %w", sc.Project, name, err)
		}
		return promotion.StepResult{Status: promotion.StatusRunning, Output: out, Message: "created Job " + name}, nil
	}
	if err != nil {
		return promotion.StepResult{}, fmt.Errorf("reading Job %s/%s: %w", sc.Project, name, err)
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return promotion.StepResult{Output: out, Message: fmt.Sprintf("Job %s succeeded", name)}, nil
		case batchv1.JobFailed:
			return promotion.StepResult{Status: promotion.StatusFailed, Output: out,
				Message: fmt.Sprintf("Job %s failed: %s %s", name, c.Reason, c.Message)}, nil
		}
	}
	return promotion.StepResult{Status: promotion.StatusRunning, Output: out,
		Message: fmt.Sprintf("Job %s is running (%d active, %d succeeded, %d failed)", name, job.Status.Active, job.Status.Succeeded, job.Status.Failed)}, nil
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// JobName is the deterministic name of the Job a job step creates: readable, at most
// 63 characters, unique per Promotion (or verification run) and step alias.
func JobName(run, alias string) string {
	sum := sha256.Sum256([]byte(run + "/" + alias))
	suffix := hex.EncodeToString(sum[:])[:10]
	base := nonDNS.ReplaceAllString(strings.ToLower(run+"-"+alias), "-")
	if len(base) > 63-len(suffix)-1 {
		base = base[:63-len(suffix)-1]
	}
	base = strings.Trim(base, "-")
	return base + "-" + suffix
}

func ptrTo[T any](v T) *T { return &v }
