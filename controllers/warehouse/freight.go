package warehouse

import (
	"time"

	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/pkg/shard"
	"github.com/haul-dev/haul/warehouse"
)

// maxMessage bounds a commit message copied into Freight.
const maxMessage = 1024

// FreightFor builds the Freight holding the best result of every subscription. ok is
// false, with the reason, when some subscription found nothing.
func FreightFor(wh *haulv1.Warehouse, results []*warehouse.Result) (*haulv1.Freight, string, bool) {
	f := &haulv1.Freight{Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: wh.Name}}
	for i, res := range results {
		if res.Empty() {
			return nil, fmt.Sprintf("subscriptions[%d] (%s) found nothing to use", i, res.RepoURL), false
		}
		switch res.Kind {
		case warehouse.KindImage:
			b := res.Images[0]
			f.Images = append(f.Images, haulv1.Image{RepoURL: res.RepoURL, Tag: b.Tag, Digest: b.Digest, SubscriptionName: res.SubscriptionName})
		case warehouse.KindGit:
			b := res.Commits[0]
			msg := b.Subject
			if len(msg) > maxMessage {
				msg = msg[:maxMessage]
			}
			f.Commits = append(f.Commits, haulv1.GitCommit{RepoURL: res.RepoURL, ID: b.ID, Branch: b.Branch, Tag: b.Tag, Message: msg, Author: b.Author, SubscriptionName: res.SubscriptionName})
		case warehouse.KindChart:
			f.Charts = append(f.Charts, haulv1.Chart{RepoURL: res.RepoURL, Name: res.Name, Version: res.Charts[0], SubscriptionName: res.SubscriptionName})
		}
	}
	f.Name = warehouse.FreightID(f.Origin, f.Images, f.Commits, f.Charts)
	f.Namespace = wh.Namespace
	return f, "", true
}

// mintFreight creates the Freight for this discovery unless it exists already, and
// records its ID in st. It returns a short message for the Ready condition.
func (r *Reconciler) mintFreight(ctx context.Context, wh *haulv1.Warehouse, st *haulv1.WarehouseStatus, results []*warehouse.Result, criteria *warehouse.Criteria) (string, error) {
	f, why, ok := FreightFor(wh, results)
	if !ok {
		return "no Freight: " + why, nil
	}
	allowed, err := criteria.Allows(f.Images, f.Commits, f.Charts)
	if err != nil {
		// Retrying cannot help until the expression or the artifacts change.
		return "", &warehouse.InvalidConstraintError{Field: "spec.freightCreationCriteria.expression", Value: wh.Spec.FreightCreationCriteria.Expression, Err: err}
	}
	if !allowed {
		return "no Freight: freightCreationCriteria not met", nil
	}
	st.LastFreightID = f.Name
	msg := "latest Freight " + f.Name
	if f.Name == wh.Status.LastFreightID {
		return msg, nil
	}
	existing := &haulv1.Freight{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(f), existing); err == nil {
		return msg, nil
	} else if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("reading Freight %s: %w", f.Name, err)
	}
	alias, err := r.alias(ctx, wh.Namespace, f.Name)
	if err != nil {
		return "", err
	}
	f.Alias = alias
	// Freight carries its Warehouse's shard, so `haul get` and selectors show where it
	// came from (every shard caches all Freight: a Stage may use another shard's).
	f.Labels = shard.Inherit(map[string]string{haulv1.LabelAlias: alias}, wh.Labels)
	// creationTimestamp has whole seconds; two releases a second apart must still order.
	f.Annotations = map[string]string{haulv1.AnnotationCreatedAt: r.Now().UTC().Format(time.RFC3339Nano)}
	if err := r.Create(ctx, f); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return msg, nil // another pass or replica won the race: same content, same name
		}
		return "", fmt.Errorf("creating Freight %s: %w", f.Name, err)
	}
	log.FromContext(ctx).Info("Created Freight", "freight", f.Name, "alias", alias)
	r.Recorder.Eventf(wh, corev1.EventTypeNormal, haulv1.ReasonFreightCreated, "Created Freight %s (%s)", f.Name, alias)
	return msg, nil
}

// alias picks an alias not used by other Freight of the project.
func (r *Reconciler) alias(ctx context.Context, namespace, id string) (string, error) {
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(haulv1.GroupVersion.WithKind("FreightList"))
	if err := r.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return "", fmt.Errorf("listing Freight aliases: %w", err)
	}
	taken := make(map[string]bool, len(list.Items))
	for _, f := range list.Items {
		if a := f.Labels[haulv1.LabelAlias]; a != "" {
			taken[a] = true
		}
	}
	return warehouse.Alias(id, func(a string) bool { return taken[a] }), nil
}
