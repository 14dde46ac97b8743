package promotion

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// AutoPromotionActor is the haul.dev/create-actor of the Promotions auto-promotion creates.
const AutoPromotionActor = "auto-promotion"

// maxName is the longest Kubernetes object name.
const maxName = 253

// New is the one constructor of a Promotion: of freight to stage (in the Stage's
// namespace), as asked by actor (recorded in haul.dev/create-actor, e.g. "cli:alice",
// "api:oidc:bob" or AutoPromotionActor). Its name is unique:
// "<stage>.<ulid>.<first 7 of freight>", the ULID lowercase so names of one Stage sort
// in creation order. Auto-promotion renames it with AutoName before creating it. It
// carries the Stage's haul.dev/shard label, so the Stage's shard runs it.
func New(stage *haulv1.Stage, freight, actor string) *haulv1.Promotion {
	labels := map[string]string{haulv1.LabelStage: stage.Name, haulv1.LabelFreight: freight}
	if s := stage.Labels[haulv1.LabelShard]; s != "" {
		labels[haulv1.LabelShard] = s
	}
	return &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: stage.Namespace,
			Name:      NewName(stage.Name, freight),
			Labels:    labels,
			Annotations: map[string]string{
				haulv1.AnnotationCreateActor: actor,
				// creationTimestamp has whole seconds; Promotions of one Stage created
				// within a second must still queue (and so be recorded) in order.
				haulv1.AnnotationCreatedAt: time.Now().UTC().Format(time.RFC3339Nano),
			},
		},
		Spec: haulv1.PromotionSpec{Stage: stage.Name, Freight: freight},
	}
}

// QueueLess orders a Stage's Promotions as they run, one at a time: by creation,
// to the nanosecond where both carry haul.dev/created-at (New sets it; Promotions
// made with kubectl have only creationTimestamp's whole seconds), then by name.
func QueueLess(a, b *haulv1.Promotion) bool {
	ta, tb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	na, errA := time.Parse(time.RFC3339Nano, a.Annotations[haulv1.AnnotationCreatedAt])
	nb, errB := time.Parse(time.RFC3339Nano, b.Annotations[haulv1.AnnotationCreatedAt])
	if errA == nil && errB == nil && !na.Equal(nb) {
		return na.Before(nb)
	}
	return a.Name < b.Name
}

// NewAuto is New for auto-promotion: the name is AutoName(stage, freight, attempt), so
// creating the same automatic Promotion twice (a reconcile ahead of its cache, a
// controller restart, two controller processes) fails with AlreadyExists instead of
// promoting twice.
func NewAuto(stage *haulv1.Stage, freight string, attempt int) *haulv1.Promotion {
	p := New(stage, freight, AutoPromotionActor)
	p.Name = AutoName(stage.Name, freight, attempt)
	return p
}

// RollbackActor is the haul.dev/create-actor of the Promotions the Stage controller
// creates to roll a Stage back. Only a writer with update rights on Promotions (the
// controllers) may claim it, so it is what makes ctx.meta.promotion.rollback true.
const RollbackActor = "auto-rollback"

// NewRollback builds the Promotion that rolls stage back to its stable Freight after
// the failure named by trigger (a verification run's ID or a Promotion's name). Its
// name comes from both, so a replayed pass creates the same one, which the API server
// refuses. failed, the Freight that failed, is recorded as what auto-promotion would
// have picked, so the rollback holds auto-promotion of the origin.
func NewRollback(stage *haulv1.Stage, stable, failed, trigger string) *haulv1.Promotion {
	p := New(stage, stable, RollbackActor)
	sum := sha256.Sum256([]byte(trigger))
	p.Name = fit(stage.Name, ".rollback."+stable+"."+hex.EncodeToString(sum[:])[:10])
	p.Annotations[haulv1.AnnotationRollback] = "true"
	p.Annotations[haulv1.AnnotationAutoPromotionCandidate] = failed
	return p
}

// IsRollback says whether p was created by the Stage controller to roll back.
func IsRollback(p *haulv1.Promotion) bool {
	return p.Annotations[haulv1.AnnotationCreateActor] == RollbackActor && p.Annotations[haulv1.AnnotationRollback] == "true"
}

// NewName returns a unique Promotion name: "<stage>.<ulid>.<first 7 of freight>".
func NewName(stage, freight string) string {
	id := strings.ToLower(ulid.Make().String())
	short := freight
	if len(short) > 7 {
		short = short[:7]
	}
	return fit(stage, "."+id+"."+short)
}

// AutoName is the name of the attempt-th automatic Promotion of freight to stage
// (attempts count from 1): "<stage>.auto.<freight>.<attempt>". Nothing random goes
// in, so the API server's AlreadyExists is the guard against duplicates.
func AutoName(stage, freight string, attempt int) string {
	return fit(stage, ".auto."+freight+"."+strconv.Itoa(attempt))
}

// fit joins stage and suffix within a Kubernetes name's length: a stage name too long
// for the suffix is shortened and a hash of it kept, so names stay distinct.
func fit(stage, suffix string) string {
	if len(stage)+len(suffix) <= maxName {
		return stage + suffix
	}
	sum := sha256.Sum256([]byte(stage))
	h := "-" + hex.EncodeToString(sum[:])[:10]
	keep := maxName - len(suffix) - len(h)
	if keep < 1 {
		// Only a Freight name near the limit gets here; keep the hash and the tail.
		name := strings.TrimLeft((h + suffix)[len(h+suffix)-maxName:], ".-")
		return name
	}
	return strings.TrimRight(stage[:keep], ".-") + h + suffix
}
