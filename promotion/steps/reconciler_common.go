package steps

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// ObjectRef names one reconciler object (an Argo CD Application, a Flux Kustomization)
// a health check looks at, so the Stage controller can re-assess when it changes.
type ObjectRef struct {
	schema.GroupKind
	Namespace string
	Name      string
}

// Health is the outcome of assessing one health check.
type Health struct {
	Status  haulv1.HealthState
	Issues  []string
	Objects []ObjectRef
}

// HealthFunc assesses a health check a step left behind, from its config.
type HealthFunc func(ctx context.Context, dyn dynamic.Interface, config map[string]any) Health

// worse returns the worse of two health states.
func worse(a, b haulv1.HealthState) haulv1.HealthState {
	rank := map[haulv1.HealthState]int{haulv1.HealthHealthy: 0, haulv1.HealthProgressing: 1, haulv1.HealthUnknown: 2, haulv1.HealthUnhealthy: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// WatchedKinds are the reconciler kinds whose changes affect Stage health.
func WatchedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		applicationGVR.GroupVersion().WithKind("Application"),
		fluxKinds["Kustomization"].GroupVersion().WithKind("Kustomization"),
		fluxKinds["HelmRelease"].GroupVersion().WithKind("HelmRelease"),
		fluxKinds["GitRepository"].GroupVersion().WithKind("GitRepository"),
	}
}

// dynamicClient returns the cluster client from the step's services, or a clear error.
func dynamicClient(sc *promotion.StepContext, step string) (dynamic.Interface, error) {
	if sc.Services == nil || sc.Services.Dynamic == nil {
		return nil, promotion.Terminal(fmt.Errorf("%s needs cluster access, which this controller was not given", step))
	}
	return sc.Services.Dynamic, nil
}

// reconcilerClient returns the client of the cluster where Argo CD and Flux run: the
// services' Reconciler, else their Dynamic (the control plane's cluster).
func reconcilerClient(sc *promotion.StepContext, step string) (dynamic.Interface, error) {
	if sc.Services != nil && sc.Services.Reconciler != nil {
		return sc.Services.Reconciler, nil
	}
	return dynamicClient(sc, step)
}

// pushedRevision finds what an earlier git-push step of this Promotion pushed: its
// commit (or, without one, its branch). When several pushes happened, the one whose
// repoURL output matches repoURL wins; if that does not decide it, it is an error,
// because guessing would deploy the wrong repository's commit.
func pushedRevision(sc *promotion.StepContext, repoURL string) (string, error) {
	type push struct{ alias, rev, repo string }
	var pushes []push
	for alias, out := range sc.Outputs {
		m, ok := out.(map[string]any)
		if !ok {
			continue
		}
		commit, _ := m["commit"].(string)
		branch, _ := m["branch"].(string)
		if branch == "" { // git-push always reports the branch; git-commit only a commit
			continue
		}
		rev := commit
		if rev == "" {
			rev = branch
		}
		repo, _ := m["repoURL"].(string)
		pushes = append(pushes, push{alias, rev, repo})
	}
	if len(pushes) == 0 {
		return "", nil
	}
	if repoURL != "" {
		var matching []push
		for _, p := range pushes {
			if p.repo != "" && sameRepo(p.repo, repoURL) {
				matching = append(matching, p)
			}
		}
		if len(matching) == 1 {
			return matching[0].rev, nil
		}
	}
	if len(pushes) == 1 {
		return pushes[0].rev, nil
	}
	var names []string
	for _, p := range pushes {
		names = append(names, p.alias)
	}
	sort.Strings(names)
	return "", promotion.Terminal(fmt.Errorf("several git-push steps (%s) could have produced the revision for %s; set desiredRevision", strings.Join(names, ", "), repoURL))
}

// sameRepo compares repository URLs ignoring a trailing ".git" or slash and case.
func sameRepo(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		s = strings.TrimSuffix(s, "/")
		return strings.TrimSuffix(s, ".git")
	}
	return norm(a) == norm(b)
}

// revisionMatches says whether a reconciler-reported revision ("main@sha1:abc…",
// "abc…", "main") is the wanted commit or branch.
func revisionMatches(reported, want string) bool {
	if reported == "" || want == "" {
		return false
	}
	if reported == want {
		return true
	}
	if i := strings.LastIndex(reported, ":"); i >= 0 && reported[i+1:] == want {
		return true
	}
	if i := strings.Index(reported, "@"); i >= 0 && reported[:i] == want {
		return true
	}
	return false
}

// mapOf reads a nested map field of an unstructured object.
func mapOf(obj map[string]any, path ...string) map[string]any {
	cur := obj
	for _, p := range path {
		next, ok := cur[p].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// stringOf reads a nested string field of an unstructured object.
func stringOf(obj map[string]any, path ...string) string {
	if len(path) == 0 {
		return ""
	}
	m := mapOf(obj, path[:len(path)-1]...)
	if m == nil {
		return ""
	}
	s, _ := m[path[len(path)-1]].(string)
	return s
}
