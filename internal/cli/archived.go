package cli

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// archivedPromotions reads the records retention kept of deleted Promotions (the
// per-Stage haul-promotion-history ConfigMaps) and returns them as Promotions, so
// tables and -o yaml show them like live ones. Their message starts with
// "(archived)". stage, when set, limits them to that Stage; live names are skipped.
func archivedPromotions(ctx context.Context, s *session, ns, stage string, live map[string]bool) ([]client.Object, error) {
	var cms corev1.ConfigMapList
	sel := client.HasLabels{haulv1.LabelPromotionHistory}
	opts := []client.ListOption{client.InNamespace(ns), sel}
	if stage != "" {
		opts = []client.ListOption{client.InNamespace(ns), client.MatchingLabels{haulv1.LabelPromotionHistory: stage}}
	}
	if err := s.client.List(ctx, &cms, opts...); err != nil {
		return nil, fmt.Errorf("reading the promotion history of project %q: %w", ns, err)
	}
	var out []client.Object
	for _, cm := range cms.Items {
		var recs []haulv1.PromotionRecord
		if raw := cm.Data[haulv1.PromotionHistoryKey]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &recs); err != nil {
				return nil, fmt.Errorf("promotion history %s/%s: %w", ns, cm.Name, err)
			}
		}
		for _, r := range recs {
			if live[r.Name] {
				continue
			}
			p := &haulv1.Promotion{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: r.Name, CreationTimestamp: r.CreatedAt,
					Annotations: map[string]string{haulv1.AnnotationCreateActor: r.Actor}},
				Spec: haulv1.PromotionSpec{Stage: r.Stage, Freight: r.Freight},
				Status: haulv1.PromotionStatus{Phase: r.Phase, Message: "(archived) " + r.Message,
					StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Sequence: r.Sequence},
			}
			p.SetGroupVersionKind(haulv1.GroupVersion.WithKind("Promotion"))
			if r.FreightAlias != "" {
				p.Status.Freight = &haulv1.FreightReference{Name: r.Freight, Alias: r.FreightAlias}
			}
			out = append(out, p)
		}
	}
	return out, nil
}
