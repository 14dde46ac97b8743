package manifest

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// ListError is a failure to read what the cluster holds of one kind in one namespace
// (empty for a cluster-scoped kind) while gathering the Cluster a set is checked
// against.
type ListError struct {
	Kind      string
	Namespace string
	Err       error
}

func (e *ListError) Error() string {
	if e.Namespace == "" {
		return fmt.Sprintf("listing %ss: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("listing %ss in %s: %v", e.Kind, e.Namespace, e.Err)
}

func (e *ListError) Unwrap() error { return e.Err }

// ReadOptions tune ReadCluster.
type ReadOptions struct {
	// Steps are the step kinds the promotion engine knows.
	Steps []string
	// StepOutputs gives each step kind's output keys (see Cluster.StepOutputs).
	StepOutputs StepOutputsFunc
	// Exists, when not nil, says which namespaces are there to be read (a namespace
	// the set itself creates is not).
	Exists func(namespace string) bool
	// SkipForbidden leaves a namespace whose Stages the caller may not list unread
	// instead of failing: writing there is refused anyway, naming each object.
	SkipForbidden bool
}

// ReadCluster reads, with the caller's rights, the Stages, Warehouses and
// PromotionTasks already in every namespace where the set applies a Stage, and the
// ClusterPromotionTasks, for Validate's checks across objects. A caller who may not
// list ClusterPromotionTasks gets a nil set (references to them are then not
// checked); any other failure is a *ListError.
func ReadCluster(ctx context.Context, c client.Reader, docs []Document, o ReadOptions) (Cluster, error) {
	cl := Cluster{Stages: map[string][]haulv1.Stage{}, Warehouses: map[string]map[string]bool{},
		PromotionTasks: map[string]map[string]bool{}, ClusterPromotionTasks: map[string]bool{}, Steps: o.Steps, StepOutputs: o.StepOutputs}
	for i := range docs {
		u := docs[i].Object
		ns := u.GetNamespace()
		if u.GroupVersionKind().Group != haulv1.GroupVersion.Group || u.GetKind() != "Stage" {
			continue
		}
		if _, done := cl.Stages[ns]; done {
			continue
		}
		if o.Exists != nil && !o.Exists(ns) {
			cl.Stages[ns] = nil
			continue
		}
		stages := &haulv1.StageList{}
		if err := c.List(ctx, stages, client.InNamespace(ns)); err != nil {
			if o.SkipForbidden && apierrors.IsForbidden(err) {
				cl.Stages[ns] = nil
				continue
			}
			return cl, &ListError{Kind: "Stage", Namespace: ns, Err: err}
		}
		cl.Stages[ns] = stages.Items
		whs := &haulv1.WarehouseList{}
		if err := c.List(ctx, whs, client.InNamespace(ns)); err != nil {
			return cl, &ListError{Kind: "Warehouse", Namespace: ns, Err: err}
		}
		cl.Warehouses[ns] = map[string]bool{}
		for _, w := range whs.Items {
			cl.Warehouses[ns][w.Name] = true
		}
		tasks := &haulv1.PromotionTaskList{}
		if err := c.List(ctx, tasks, client.InNamespace(ns)); err != nil {
			return cl, &ListError{Kind: "PromotionTask", Namespace: ns, Err: err}
		}
		cl.PromotionTasks[ns] = map[string]bool{}
		for _, t := range tasks.Items {
			cl.PromotionTasks[ns][t.Name] = true
		}
	}
	if len(cl.Stages) > 0 {
		// Project members may not list cluster-scoped tasks; then no warning is better than a wrong one.
		cts := &haulv1.ClusterPromotionTaskList{}
		if err := c.List(ctx, cts); err == nil {
			for _, t := range cts.Items {
				cl.ClusterPromotionTasks[t.Name] = true
			}
		} else {
			cl.ClusterPromotionTasks = nil
		}
	}
	return cl, nil
}

// FromObjects makes Documents of objects parsed (and converted from Kargo's API)
// elsewhere, such as the REST API's apply body, cleaned as Load cleans its own: server
// fields dropped, and the null fields of Haul objects pruned. Each is named
// "<source>#<n>".
func FromObjects(source string, objs []*unstructured.Unstructured) []Document {
	out := make([]Document, len(objs))
	for i, u := range objs {
		stripServerFields(u)
		if u.GroupVersionKind().Group == haulv1.GroupVersion.Group {
			pruneNulls(u.Object)
		}
		out[i] = Document{Source: fmt.Sprintf("%s#%d", source, i+1), Object: u}
	}
	return out
}
