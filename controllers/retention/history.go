package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// maxRecordMessage bounds the status message kept in a record.
const maxRecordMessage = 512

// Record is the compact record of a Promotion.
func Record(p *haulv1.Promotion) haulv1.PromotionRecord {
	rec := haulv1.PromotionRecord{
		Name: p.Name, Stage: p.Spec.Stage, Freight: p.Spec.Freight,
		Phase: p.Status.Phase, Message: p.Status.Message,
		Actor:     p.Annotations[haulv1.AnnotationCreateActor],
		CreatedAt: p.CreationTimestamp, StartedAt: p.Status.StartedAt, FinishedAt: p.Status.FinishedAt,
		Sequence: p.Status.Sequence,
	}
	if p.Status.Freight != nil {
		rec.FreightAlias = p.Status.Freight.Alias
	}
	if len(rec.Message) > maxRecordMessage {
		rec.Message = rec.Message[:maxRecordMessage]
	}
	return rec
}

// HistoryName is the name of the Stage's promotion-history ConfigMap.
func HistoryName(stage string) string { return haulv1.PromotionHistoryPrefix + stage }

// archive adds the records of ps to the Stage's promotion history, newest first, and
// drops the oldest beyond haulv1.PromotionHistoryMax. Written before the Promotions are
// deleted, so a deletion never loses the record.
func (r *Reconciler) archive(ctx context.Context, ns, stage string, ps []*haulv1.Promotion) error {
	cm := &corev1.ConfigMap{}
	key := client.ObjectKey{Namespace: ns, Name: HistoryName(stage)}
	err := r.Reader.Get(ctx, key, cm)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading promotion history %s: %w", key, err)
	}
	recs, err := decode(cm)
	if err != nil {
		return fmt.Errorf("promotion history %s: %w", key, err)
	}
	seen := map[string]bool{}
	for _, rec := range recs {
		seen[rec.Name] = true
	}
	for _, p := range ps {
		if !seen[p.Name] {
			recs = append(recs, Record(p))
		}
	}
	sortRecords(recs)
	b, err := encodeHistory(recs)
	if err != nil {
		return err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[haulv1.PromotionHistoryKey] = string(b)
	if !exists {
		cm.ObjectMeta = metav1.ObjectMeta{Namespace: ns, Name: key.Name, Labels: map[string]string{haulv1.LabelPromotionHistory: stage}}
		if err := r.Create(ctx, cm); err != nil {
			return fmt.Errorf("creating promotion history %s: %w", key, err)
		}
		return nil
	}
	if err := r.Update(ctx, cm); err != nil {
		return fmt.Errorf("updating promotion history %s: %w", key, err)
	}
	return nil
}

// encodeHistory encodes the newest records (recs is sorted newest first) that fit
// within PromotionHistoryMax records and PromotionHistoryMaxBytes bytes, so that the
// ConfigMap always stays writable: a history too big to write would stop every later
// sweep of the project, since nothing is deleted unless archived.
func encodeHistory(recs []haulv1.PromotionRecord) ([]byte, error) {
	if len(recs) > haulv1.PromotionHistoryMax {
		recs = recs[:haulv1.PromotionHistoryMax]
	}
	for {
		b, err := json.Marshal(recs)
		if err != nil || len(b) <= haulv1.PromotionHistoryMaxBytes {
			return b, err
		}
		// Keep what fits at this size per record, and at least one fewer.
		n := min(len(recs)-1, len(recs)*haulv1.PromotionHistoryMaxBytes/len(b))
		recs = recs[:n]
	}
}

func decode(cm *corev1.ConfigMap) ([]haulv1.PromotionRecord, error) {
	raw := cm.Data[haulv1.PromotionHistoryKey]
	if raw == "" {
		return nil, nil
	}
	var recs []haulv1.PromotionRecord
	if err := json.Unmarshal([]byte(raw), &recs); err != nil {
		return nil, fmt.Errorf("key %s is not a JSON list of promotion records: %w", haulv1.PromotionHistoryKey, err)
	}
	return recs, nil
}

// sortRecords orders records newest first, as newerPromotion orders Promotions.
func sortRecords(recs []haulv1.PromotionRecord) {
	sort.SliceStable(recs, func(i, j int) bool {
		a, b := recs[i], recs[j]
		if a.Sequence != b.Sequence {
			return a.Sequence > b.Sequence
		}
		return b.CreatedAt.Before(&a.CreatedAt)
	})
}

// History reads the archived records of a project's Promotions, of one Stage when
// stage is not empty, newest first per Stage.
func History(ctx context.Context, c client.Reader, ns, stage string) ([]haulv1.PromotionRecord, error) {
	var l corev1.ConfigMapList
	sel := client.HasLabels{haulv1.LabelPromotionHistory}
	opts := []client.ListOption{client.InNamespace(ns), sel}
	if stage != "" {
		opts = []client.ListOption{client.InNamespace(ns), client.MatchingLabels{haulv1.LabelPromotionHistory: stage}}
	}
	if err := c.List(ctx, &l, opts...); err != nil {
		return nil, fmt.Errorf("listing promotion history of %s: %w", ns, err)
	}
	var out []haulv1.PromotionRecord
	for i := range l.Items {
		recs, err := decode(&l.Items[i])
		if err != nil {
			return nil, fmt.Errorf("promotion history %s/%s: %w", ns, l.Items[i].Name, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// AsPromotion rebuilds, for display, a Promotion from its record; it carries the
// haul.dev/archived annotation and only what the record kept.
func AsPromotion(ns string, rec haulv1.PromotionRecord) haulv1.Promotion {
	p := haulv1.Promotion{
		TypeMeta: metav1.TypeMeta{APIVersion: haulv1.GroupVersion.String(), Kind: "Promotion"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: rec.Name, CreationTimestamp: rec.CreatedAt,
			Labels:      map[string]string{haulv1.LabelStage: rec.Stage, haulv1.LabelFreight: rec.Freight},
			Annotations: map[string]string{haulv1.AnnotationArchived: "true"},
		},
		Spec: haulv1.PromotionSpec{Stage: rec.Stage, Freight: rec.Freight},
		Status: haulv1.PromotionStatus{
			Phase: rec.Phase, Message: rec.Message, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt, Sequence: rec.Sequence,
			Freight: &haulv1.FreightReference{Name: rec.Freight, Alias: rec.FreightAlias},
		},
	}
	if rec.Actor != "" {
		p.Annotations[haulv1.AnnotationCreateActor] = rec.Actor
	}
	return p
}
