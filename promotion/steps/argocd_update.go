package steps

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// applicationGVR is Argo CD's Application; Haul talks to it as unstructured data so that
// Argo CD's Go module never enters Haul's dependencies.
var applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

var applicationKind = schema.GroupKind{Group: "argoproj.io", Kind: "Application"}

// operationInfoKey marks sync operations Haul started, with the Promotion as value, so
// a replayed step recognises its own operation instead of starting another.
const operationInfoKey = haulv1.AnnotationPromotion

type argoCDAppRef struct {
	Name      string                `json:"name,omitempty"`
	Selector  *metav1.LabelSelector `json:"selector,omitempty"`
	Namespace string                `json:"namespace,omitempty"`
}

func (a argoCDAppRef) namespace() string {
	if a.Namespace == "" {
		return "argocd"
	}
	return a.Namespace
}

type argoCDKustomizeImage struct {
	RepoURL   string `json:"repoURL"`
	Tag       string `json:"tag,omitempty"`
	Digest    string `json:"digest,omitempty"`
	UseDigest bool   `json:"useDigest,omitempty"`
	NewName   string `json:"newName,omitempty"`
}

type argoCDHelmImage struct {
	RepoURL string `json:"repoURL"`
	Key     string `json:"key"`
	// Value is ImageAndTag (default), Tag, ImageAndDigest or Digest.
	Value  string `json:"value,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Digest string `json:"digest,omitempty"`
}

type argoCDSourceUpdate struct {
	RepoURL              string `json:"repoURL"`
	Chart                string `json:"chart,omitempty"`
	DesiredRevision      string `json:"desiredRevision,omitempty"`
	UpdateTargetRevision bool   `json:"updateTargetRevision,omitempty"`
	Kustomize            *struct {
		Images []argoCDKustomizeImage `json:"images"`
	} `json:"kustomize,omitempty"`
	Helm *struct {
		Images []argoCDHelmImage `json:"images"`
	} `json:"helm,omitempty"`
}

type argoCDAppUpdate struct {
	argoCDAppRef `json:",inline"`
	Sources      []argoCDSourceUpdate `json:"sources,omitempty"`
}

type argoCDUpdateConfig struct {
	Apps []argoCDAppUpdate `json:"apps"`
}

func (c *argoCDUpdateConfig) Validate() error {
	if len(c.Apps) == 0 {
		return errors.New("apps: at least one Application is required")
	}
	for i, a := range c.Apps {
		if (a.Name == "") == (a.Selector == nil) {
			return fmt.Errorf("apps[%d]: set exactly one of name or selector", i)
		}
		for j, s := range a.Sources {
			if s.RepoURL == "" {
				return fmt.Errorf("apps[%d].sources[%d].repoURL is required", i, j)
			}
			if s.Helm != nil {
				for k, img := range s.Helm.Images {
					switch img.Value {
					case "", "ImageAndTag", "Tag", "ImageAndDigest", "Digest":
					default:
						return fmt.Errorf("apps[%d].sources[%d].helm.images[%d].value %q: want ImageAndTag, Tag, ImageAndDigest or Digest", i, j, k, img.Value)
					}
				}
			}
		}
	}
	return nil
}

// argoCDUpdate points Argo CD Applications at what this Promotion produced, starts a
// sync, and reports Running until each sync finished at the wanted revision. It leaves
// a health check so the Stage keeps following the Applications afterwards.
func argoCDUpdate(ctx context.Context, sc *promotion.StepContext) (promotion.StepResult, error) {
	var cfg argoCDUpdateConfig
	if err := promotion.DecodeConfig(sc.Config, &cfg); err != nil {
		return promotion.StepResult{}, err
	}
	dyn, err := reconcilerClient(sc, "argocd-update")
	if err != nil {
		return promotion.StepResult{}, err
	}
	var waiting []string
	var checks []any
	for i, spec := range cfg.Apps {
		apps, err := resolveApps(ctx, dyn, spec.argoCDAppRef, fmt.Sprintf("apps[%d]", i))
		if err != nil {
			return promotion.StepResult{}, err
		}
		for _, app := range apps {
			if err := authorized(app, sc.Project, sc.Stage); err != nil {
				return promotion.StepResult{}, err
			}
			revs, err := desiredRevisions(sc, spec.Sources)
			if err != nil {
				return promotion.StepResult{}, err
			}
			msg, done, synced, err := syncApp(ctx, dyn, sc, app, spec.Sources, revs)
			if err != nil {
				return promotion.StepResult{}, err
			}
			if done {
				checks = append(checks, map[string]any{"name": app.GetName(), "namespace": app.GetNamespace(), "revisions": revisionsOf(synced)})
				continue
			}
			if strings.HasPrefix(msg, "failed:") {
				return promotion.StepResult{Status: promotion.StatusFailed, Message: strings.TrimPrefix(msg, "failed: ")}, nil
			}
			waiting = append(waiting, msg)
		}
	}
	if len(waiting) > 0 {
		// Argo CD usually syncs in about a second; poll the Applications often.
		return promotion.StepResult{Status: promotion.StatusRunning, Message: strings.Join(waiting, "; "), RequeueAfter: 500 * time.Millisecond}, nil
	}
	return promotion.StepResult{
		Message:     fmt.Sprintf("%d Application(s) synced", len(checks)),
		HealthCheck: &promotion.HealthCheck{Uses: "argocd-update", Config: map[string]any{"apps": checks}},
	}, nil
}

// resolveApps finds the Applications named or selected by ref.
func resolveApps(ctx context.Context, dyn dynamic.Interface, ref argoCDAppRef, field string) ([]*unstructured.Unstructured, error) {
	cl := dyn.Resource(applicationGVR).Namespace(ref.namespace())
	if ref.Name != "" {
		app, err := cl.Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, promotion.Terminal(fmt.Errorf("%s: Application %s/%s not found", field, ref.namespace(), ref.Name))
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading Application %s/%s: %w", field, ref.namespace(), ref.Name, err)
		}
		return []*unstructured.Unstructured{app}, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(ref.Selector)
	if err != nil {
		return nil, promotion.Terminal(fmt.Errorf("%s.selector: %w", field, err))
	}
	list, err := cl.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("%s: listing Applications in %s: %w", field, ref.namespace(), err)
	}
	if len(list.Items) == 0 {
		return nil, promotion.Terminal(fmt.Errorf("%s.selector %q matches no Application in namespace %s", field, sel.String(), ref.namespace()))
	}
	out := make([]*unstructured.Unstructured, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	return out, nil
}

// authorized checks that the Application names this Stage as allowed to change it.
func authorized(app *unstructured.Unstructured, project, stage string) error {
	want := project + ":" + stage
	ann := app.GetAnnotations()
	for _, key := range []string{haulv1.AnnotationAuthorizedStage, haulv1.AnnotationKargoAuthorizedStage} {
		if v, ok := ann[key]; ok && authorizedValue(v, project, stage) {
			return nil
		}
	}
	return promotion.Terminal(fmt.Errorf("Application %s/%s is not annotated %s: %q (or %s), so stage %s may not change it",
		app.GetNamespace(), app.GetName(), haulv1.AnnotationAuthorizedStage, want, haulv1.AnnotationKargoAuthorizedStage, stage))
}

// authorizedValue matches "<project>:<stage>"; either part may be a glob pattern.
func authorizedValue(v, project, stage string) bool {
	p, s, ok := strings.Cut(strings.TrimSpace(v), ":")
	if !ok {
		return false
	}
	pm, err1 := path.Match(p, project)
	sm, err2 := path.Match(s, stage)
	return err1 == nil && err2 == nil && pm && sm
}

// desiredRevisions picks, per source update, the revision to sync: desiredRevision,
// else what an earlier git-push of this Promotion pushed, else the Freight's commit from
// that repository. "" means keep the Application's own target revision.
func desiredRevisions(sc *promotion.StepContext, sources []argoCDSourceUpdate) ([]string, error) {
	out := make([]string, len(sources))
	for i, s := range sources {
		switch {
		case s.DesiredRevision != "":
			out[i] = s.DesiredRevision
		case s.Chart != "":
			for _, c := range sc.Freight.Charts {
				if sameRepo(c.RepoURL, s.RepoURL) && c.Name == s.Chart {
					out[i] = c.Version
				}
			}
		default:
			rev, err := pushedRevision(sc, s.RepoURL)
			if err != nil {
				return nil, err
			}
			if rev == "" {
				for _, c := range sc.Freight.Commits {
					if sameRepo(c.RepoURL, s.RepoURL) {
						rev = c.ID
					}
				}
			}
			out[i] = rev
		}
		if s.UpdateTargetRevision && out[i] == "" {
			return nil, promotion.Terminal(fmt.Errorf("sources[%d]: updateTargetRevision is set but no revision is known for %s; set desiredRevision", i, s.RepoURL))
		}
	}
	return out, nil
}

func revisionsOf(revs []string) []any {
	out := make([]any, len(revs))
	for i, r := range revs {
		out[i] = r
	}
	return out
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}$|^[0-9a-f]{64}$`)
