package v1alpha1_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestStepTimeoutIsAtMost24h: the API server refuses a step's retry.timeout above 24h
// in Stages, PromotionTasks and ClusterPromotionTasks, naming the field and the value.
func TestStepTimeoutIsAtMost24h(t *testing.T) {
	ns := env.Namespace(t, "step-timeout")
	withTimeout := func(d time.Duration) haulv1.PromotionStep {
		return haulv1.PromotionStep{Uses: "http", Retry: &haulv1.StepRetry{Timeout: &metav1.Duration{Duration: d}}}
	}
	objects := map[string]func(haulv1.PromotionStep) client.Object{
		"Stage": func(s haulv1.PromotionStep) client.Object {
			return withSteps(stage(ns, req("w", true)), s)
		},
		"PromotionTask": func(s haulv1.PromotionStep) client.Object {
			return &haulv1.PromotionTask{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name("t")},
				Spec: haulv1.PromotionTaskSpec{Steps: []haulv1.PromotionStep{s}}}
		},
		"ClusterPromotionTask": func(s haulv1.PromotionStep) client.Object {
			return &haulv1.ClusterPromotionTask{ObjectMeta: metav1.ObjectMeta{Name: name("ct")},
				Spec: haulv1.PromotionTaskSpec{Steps: []haulv1.PromotionStep{s}}}
		},
	}
	for kind, build := range objects {
		t.Run(kind+" 1000h rejected", func(t *testing.T) {
			err := env.Client.Create(context.Background(), build(withTimeout(1000*time.Hour)))
			if err == nil {
				t.Fatal("retry.timeout 1000h was accepted")
			}
			for _, want := range []string{"retry.timeout", "1000h0m0s", "24h"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("rejection does not contain %q: %v", want, err)
				}
			}
		})
		t.Run(kind+" 24h accepted", func(t *testing.T) {
			o := build(withTimeout(24 * time.Hour))
			if err := env.Client.Create(context.Background(), o); err != nil {
				t.Fatalf("retry.timeout 24h: %v", err)
			}
			if _, ok := o.(*haulv1.ClusterPromotionTask); ok {
				t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
			}
		})
	}
}
