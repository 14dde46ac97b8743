package promotion

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

func TestQueueLessOrdersWithinOneSecondByTheCreatedAtAnnotation(t *testing.T) {
	sec := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC))
	at := func(name string, nanos int, annotated bool) *haulv1.Promotion {
		p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: sec}}
		if annotated {
			p.Annotations = map[string]string{haulv1.AnnotationCreatedAt: sec.Add(time.Duration(nanos)).Format(time.RFC3339Nano)}
		}
		return p
	}
	// "test.auto..." sorts after "test.01m..." by name: only the annotation puts the
	// auto Promotion, made first, first.
	auto, manual := at("test.auto.f2.1", 100, true), at("test.01m8manual", 900, true)
	if !QueueLess(auto, manual) || QueueLess(manual, auto) {
		t.Error("Promotions created in one second are not queued by their created-at annotation")
	}
	// Without the annotation on both (kubectl), the name decides.
	if !QueueLess(at("a", 900, false), at("b", 100, true)) {
		t.Error("an unannotated pair does not fall back to the name")
	}
	// A whole second apart, creationTimestamp decides whatever the annotations say.
	later := at("a-later", 0, true)
	later.CreationTimestamp = metav1.NewTime(sec.Add(time.Second))
	if !QueueLess(manual, later) {
		t.Error("creationTimestamp does not decide across seconds")
	}
	if p := New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "test"}}, "f1", "cli:alice"); p.Annotations[haulv1.AnnotationCreatedAt] == "" {
		t.Error("New does not record the created-at annotation")
	}
}

// TestNewCarriesTheStagesShard: every Promotion Haul builds (auto-promotion, CLI, REST
// API) gets its Stage's haul.dev/shard label, so the Stage's controller shard runs it.
func TestNewCarriesTheStagesShard(t *testing.T) {
	sharded := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "prod", Labels: map[string]string{haulv1.LabelShard: "eu"}}}
	for name, p := range map[string]*haulv1.Promotion{
		"New":     New(sharded, "f1", "cli:alice"),
		"NewAuto": NewAuto(sharded, "f1", 1),
	} {
		if p.Labels[haulv1.LabelShard] != "eu" || p.Namespace != "ns" || p.Spec.Stage != "prod" {
			t.Errorf("%s: labels %v, namespace %q, stage %q; want shard eu of Stage ns/prod", name, p.Labels, p.Namespace, p.Spec.Stage)
		}
	}
	plain := New(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "dev"}}, "f1", "cli:alice")
	if _, ok := plain.Labels[haulv1.LabelShard]; ok {
		t.Errorf("a default-shard Stage's Promotion is labelled: %v", plain.Labels)
	}
}
