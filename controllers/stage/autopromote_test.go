package stage_test

import (
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/stage"
	"github.com/haul-dev/haul/promotion"
)

func TestNewFreightFlowsThroughThePipeline(t *testing.T) {
	startManager(t)
	ns := project(t, "flow", true)
	for _, s := range []*haulv1.Stage{newStage(ns, "test"), newStage(ns, "uat", "test"), newStage(ns, "prod", "uat")} {
		must(t, env.Client.Create(ctx, s))
	}
	f := newFreight(t, ns, "first")
	waitCurrent(t, ns, "prod", f)

	for _, name := range []string{"test", "uat", "prod"} {
		s := getStage(t, ns, name)
		if !s.Status.AutoPromotionEnabled {
			t.Errorf("stage %s: status.autoPromotionEnabled = false, want the project policy mirrored", name)
		}
		if s.Status.FreightSummary != "first" {
			t.Errorf("stage %s: freightSummary = %q, want the alias", name, s.Status.FreightSummary)
		}
		promos := promotionsOf(t, ns, name)
		if len(promos) != 1 {
			t.Fatalf("stage %s: %d promotions, want 1: %s", name, len(promos), describePromotions(t, ns, name))
		}
		p := promos[0]
		if p.Annotations[haulv1.AnnotationCreateActor] != stage.AutoPromotionActor || !strings.HasPrefix(p.Name, name+".") {
			t.Errorf("stage %s: promotion %s annotations %v, want an auto-promotion named <stage>.<ulid>.<freight>", name, p.Name, p.Annotations)
		}
		eventually(t, "stage "+name+" verified", func() (bool, string) {
			s := getStage(t, ns, name)
			_, ok := getFreight(t, ns, f.Name).Status.VerifiedIn[name]
			return ok && strings.HasPrefix(condition(s, haulv1.ConditionVerified), "True/"), condition(s, haulv1.ConditionVerified)
		})
	}

	// A newer Freight replaces it everywhere.
	g := newFreight(t, ns, "second")
	waitCurrent(t, ns, "prod", g)
}

func TestNoAutoPromotionWithoutPolicy(t *testing.T) {
	startManager(t)
	ns := project(t, "nopolicy", false)
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	newFreight(t, ns, "one")
	settle(t, ns, "test")
	if p := promotionsOf(t, ns, "test"); len(p) != 0 {
		t.Fatalf("a project without an enabling policy got promotions: %s", describePromotions(t, ns, "test"))
	}
	if getStage(t, ns, "test").Status.AutoPromotionEnabled {
		t.Error("status.autoPromotionEnabled is true without a policy")
	}
}

func TestFailedPromotionIsNotRetriedAutomatically(t *testing.T) {
	startManager(t)
	ns := project(t, "failed", true)
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	bad := newFreight(t, ns, "bad-one")
	eventually(t, "the promotion of bad-one to fail", func() (bool, string) {
		ps := promotionsOf(t, ns, "test")
		return len(ps) == 1 && ps[0].Status.Phase == haulv1.PromotionFailed, describePromotions(t, ns, "test")
	})
	settle(t, ns, "test")
	settle(t, ns, "test")
	if ps := promotionsOf(t, ns, "test"); len(ps) != 1 {
		t.Fatalf("the failed candidate was promoted again: %s", describePromotions(t, ns, "test"))
	}
	s := getStage(t, ns, "test")
	if got := condition(s, haulv1.ConditionReady); !strings.HasPrefix(got, "False/"+haulv1.ReasonPromotionFailed) {
		t.Errorf("Ready = %s, want False/PromotionFailed", got)
	}
	_ = bad
	// A newer candidate is promoted normally.
	good := newFreight(t, ns, "good")
	waitCurrent(t, ns, "test", good)
}

func TestManualPromotionPlacesHold(t *testing.T) {
	startManager(t)
	ns := project(t, "hold", true)
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	f1 := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f1)
	f2 := newFreight(t, ns, "two")
	waitCurrent(t, ns, "test", f2)

	// A human rolls back to f1.
	manual(t, ns, "test", f1)
	waitCurrent(t, ns, "test", f1)
	eventually(t, "a hold on the origin", func() (bool, string) {
		h := getStage(t, ns, "test").Status.AutoPromotionHolds
		return len(h) == 1 && h[0].Freight == f1.Name && h[0].Origin == origin, fmt.Sprintf("%+v", h)
	})
	// New Freight does not move the Stage while held.
	f3 := newFreight(t, ns, "three")
	settle(t, ns, "test")
	for _, p := range promotionsOf(t, ns, "test") {
		if p.Spec.Freight == f3.Name {
			t.Fatalf("auto-promotion ignored the hold: %s", describePromotions(t, ns, "test"))
		}
	}
	// Promoting the candidate by hand releases the hold; auto-promotion resumes.
	manual(t, ns, "test", f3)
	waitCurrent(t, ns, "test", f3)
	eventually(t, "the hold to be released", func() (bool, string) {
		h := getStage(t, ns, "test").Status.AutoPromotionHolds
		return len(h) == 0, fmt.Sprintf("%+v", h)
	})
	f4 := newFreight(t, ns, "four")
	waitCurrent(t, ns, "test", f4)
}

func manual(t *testing.T, ns, stageName string, f *haulv1.Freight) {
	t.Helper()
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: promotion.NewName(stageName, f.Name),
			Annotations: map[string]string{haulv1.AnnotationCreateActor: "alice"}},
		Spec: haulv1.PromotionSpec{Stage: stageName, Freight: f.Name},
	}
	must(t, env.Client.Create(ctx, p))
}

func TestCycleIsReportedAndNeverPromoted(t *testing.T) {
	startManager(t)
	ns := project(t, "cycle", true)
	must(t, env.Client.Create(ctx, newStage(ns, "entry")))
	a := newStage(ns, "a", "entry", "b")
	a.Spec.RequestedFreight[0].Sources.Stages = []string{"entry", "b"}
	must(t, env.Client.Create(ctx, a))
	must(t, env.Client.Create(ctx, newStage(ns, "b", "a")))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "entry", f)
	for name, cycle := range map[string]string{"a": "a -> b -> a", "b": "b -> a -> b"} {
		eventually(t, "stage "+name+" to report the cycle", func() (bool, string) {
			got := condition(getStage(t, ns, name), haulv1.ConditionReady)
			return strings.HasPrefix(got, "False/"+haulv1.ReasonCycleDetected) && strings.Contains(got, cycle), got
		})
	}
	// Freight verified upstream would be available to a, but a is never promoted.
	settle(t, ns, "a")
	if ps := promotionsOf(t, ns, "a"); len(ps) != 0 {
		t.Fatalf("a stage on a cycle was promoted: %s", describePromotions(t, ns, "a"))
	}
}

func TestControlFlowStageMarksFreightVerified(t *testing.T) {
	startManager(t)
	ns := project(t, "junction", true)
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	j := newStage(ns, "junction", "test")
	j.Spec.PromotionTemplate = nil
	must(t, env.Client.Create(ctx, j))
	must(t, env.Client.Create(ctx, newStage(ns, "eu", "junction")))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "eu", f)
	if _, ok := getFreight(t, ns, f.Name).Status.VerifiedIn["junction"]; !ok {
		t.Error("the control-flow stage did not mark the Freight verified")
	}
	if ps := promotionsOf(t, ns, "junction"); len(ps) != 0 {
		t.Errorf("a control-flow stage was promoted: %s", describePromotions(t, ns, "junction"))
	}
}

// reconciles reads controller-runtime's reconcile counter for the Stage controller.
func reconciles(t *testing.T) float64 {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	must(t, err)
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "stage" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func TestIdlePipelineMakesNoWrites(t *testing.T) {
	startManager(t)
	ns := project(t, "idle", true)
	for _, s := range []*haulv1.Stage{newStage(ns, "test"), newStage(ns, "uat", "test"), newStage(ns, "prod", "uat")} {
		must(t, env.Client.Create(ctx, s))
	}
	f := newFreight(t, ns, "idle")
	waitCurrent(t, ns, "prod", f)
	eventually(t, "prod verified", func() (bool, string) {
		_, ok := getFreight(t, ns, f.Name).Status.VerifiedIn["prod"]
		return ok, ""
	})
	// Let in-flight requeues drain, then re-observe everything many times: every Freight
	// event makes every Stage of the project reconcile again.
	settle(t, ns, "prod")
	before, passes := writes.Load(), reconciles(t)
	// One touch at a time: events for a Stage already queued collapse into one pass, so
	// each touch waits for its three passes before the next.
	for i := range 10 {
		g := getFreight(t, ns, f.Name)
		patch := client.MergeFrom(g.DeepCopy())
		g.Labels = map[string]string{"touch": fmt.Sprint(i)}
		must(t, env.Client.Patch(ctx, g, patch))
		eventually(t, "the Stages to re-reconcile", func() (bool, string) {
			return reconciles(t)-passes >= float64(3*(i+1)), fmt.Sprintf("%v passes after %d touches", reconciles(t)-passes, i+1)
		})
	}
	if n := writes.Load() - before; n != 0 {
		t.Fatalf("an idle pipeline made %d API writes over %v reconciles, want 0", n, reconciles(t)-passes)
	}
	t.Logf("idle: %v reconciles, 0 writes", reconciles(t)-passes)
}

// A reconcile that runs before its cache shows the auto-promotion it just created (or a
// second controller process, or one restarted with an empty cache) asks for the same
// Promotion again; the name derived from (stage, freight, attempt) makes the API server
// refuse the duplicate.
func TestAutoPromotionNameIsDerivedSoADuplicateIsRefused(t *testing.T) {
	startManager(t)
	ns := project(t, "auto-once", true)
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	f := newFreight(t, ns, "one")
	waitCurrent(t, ns, "test", f)
	var list haulv1.PromotionList
	must(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
	if len(list.Items) != 1 {
		t.Fatalf("%d Promotions, want 1", len(list.Items))
	}
	want := promotion.AutoName("test", f.Name, 1)
	if got := list.Items[0].Name; got != want {
		t.Fatalf("auto-promotion named %s, want %s", got, want)
	}
	again := promotion.NewAuto(&haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"}}, f.Name, 1)
	if err := env.Client.Create(ctx, again); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the same auto-promotion again: %v, want AlreadyExists", err)
	}
}
