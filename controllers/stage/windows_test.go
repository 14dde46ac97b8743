package stage_test

import (
	"github.com/haul-dev/haul/pkg/metrics"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// ical formats t as an iCal UTC date-time, as dtstart and dtend take it.
func ical(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// TestAutoPromotionWaitsForWindow: before the daily Allow window opens, auto-promotion
// creates no Promotion and the Stage's status says when it opens; once the clock is
// inside the window, the Stage auto-promotes and the status says when it closes.
func TestAutoPromotionWaitsForWindow(t *testing.T) {
	startManager(t)
	ns := project(t, "windowauto", true)
	opens := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	cfg := &haulv1.ProjectConfig{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ns}, cfg))
	cfg.Spec.PromotionWindows = []haulv1.PromotionWindow{{
		Name: "daily", Kind: haulv1.PromotionWindowAllow, RRule: "FREQ=DAILY",
		DTStart: ical(opens), DTEnd: ical(opens.Add(time.Hour)),
	}}
	must(t, env.Client.Update(ctx, cfg))
	must(t, env.Client.Create(ctx, newStage(ns, "test")))
	f := newFreight(t, ns, "patient")
	settle(t, ns, "test")
	if ps := promotionsOf(t, ns, "test"); len(ps) != 0 {
		t.Fatalf("auto-promoted outside the Allow window: %s", describePromotions(t, ns, "test"))
	}
	ws := getStage(t, ns, "test").Status.PromotionWindowStatus
	if ws == nil || !ws.Closed || ws.NextOpen == nil || !ws.NextOpen.Time.Equal(opens) || ws.Window != "daily" ||
		!strings.Contains(ws.Reason, "(window daily)") {
		t.Fatalf("window status before the window = %+v, want closed until %s", ws, opens)
	}

	shiftClock(t, 2*time.Hour+30*time.Minute)
	settle(t, ns, "test")
	waitCurrent(t, ns, "test", f)
	ws = getStage(t, ns, "test").Status.PromotionWindowStatus
	if ws == nil || ws.Closed || ws.NextClose == nil || !ws.NextClose.Time.Equal(opens.Add(time.Hour)) {
		t.Fatalf("window status inside the window = %+v, want open until %s", ws, opens.Add(time.Hour))
	}
}

// TestClusterFreezeStopsEveryProject: a Deny window in the ClusterConfig stops
// auto-promotion in every project and holds a manual Promotion Pending with the
// window's message; deleting the ClusterConfig lets both through.
func TestClusterFreezeStopsEveryProject(t *testing.T) {
	startManager(t)
	now := time.Now().Truncate(time.Second)
	until := now.Add(time.Hour)
	cc := &haulv1.ClusterConfig{ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName}}
	cc.Spec.PromotionWindows = []haulv1.PromotionWindow{{
		Name: "stop-the-line", Kind: haulv1.PromotionWindowDeny, DTStart: ical(now.Add(-time.Hour)), DTEnd: ical(until),
	}}
	must(t, env.Client.Create(ctx, cc))
	t.Cleanup(func() {
		if err := env.Client.Delete(ctx, cc); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
	want := "promotion window closed until " + until.UTC().Format(time.RFC3339) + " (window stop-the-line)"

	a, b := project(t, "freezea", true), project(t, "freezeb", false)
	must(t, env.Client.Create(ctx, newStage(a, "test")))
	must(t, env.Client.Create(ctx, newStage(b, "test")))
	fa, fb := newFreight(t, a, "frozen-a"), newFreight(t, b, "frozen-b")
	manual := promotion.New(getStage(t, b, "test"), fb.Name, "kubectl:admin")
	must(t, env.Client.Create(ctx, manual))
	settle(t, a, "test")
	if ps := promotionsOf(t, a, "test"); len(ps) != 0 {
		t.Fatalf("auto-promoted during the cluster freeze: %s", describePromotions(t, a, "test"))
	}
	if ws := getStage(t, a, "test").Status.PromotionWindowStatus; ws == nil || !ws.Closed || ws.Reason != want {
		t.Fatalf("project a's window status = %+v, want closed: %s", ws, want)
	}
	eventually(t, "the manual Promotion to wait for the window", func() (bool, string) {
		p := &haulv1.Promotion{}
		must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(manual), p))
		return p.Status.Phase == haulv1.PromotionPending && p.Status.Message == want, string(p.Status.Phase) + ": " + p.Status.Message
	})

	// Somebody with the override right lets one Promotion through the freeze: it runs,
	// and the override is told (a Warning Event naming the window and who overrode,
	// and the overrides counter).
	overrides := counterValue(t, metrics.WindowOverrides)
	through := promotion.New(getStage(t, a, "test"), fa.Name, "kubectl:admin")
	through.Annotations[haulv1.AnnotationWindowOverride] = "kubectl:admin: hotfix for INC-7"
	must(t, env.Client.Create(ctx, through))
	waitCurrent(t, a, "test", fa)
	eventually(t, "the PromotionWindowOverridden event", func() (bool, string) {
		var evs corev1.EventList
		must(t, env.Client.List(ctx, &evs, client.InNamespace(a)))
		for _, e := range evs.Items {
			if e.Reason == haulv1.ReasonPromotionWindowOverridden && e.InvolvedObject.Name == through.Name {
				return e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, want) &&
					strings.Contains(e.Message, "overridden by kubectl:admin: hotfix for INC-7"), e.Message
			}
		}
		return false, "no event yet"
	})
	if got := counterValue(t, metrics.WindowOverrides) - overrides; got != 1 {
		t.Errorf("haul_promotion_window_overrides_total grew by %v, want 1", got)
	}

	must(t, env.Client.Delete(ctx, cc))
	waitCurrent(t, b, "test", fb)
}

// counterValue reads a Prometheus counter's current value.
func counterValue(t *testing.T, c interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	m := &dto.Metric{}
	must(t, c.Write(m))
	return m.GetCounter().GetValue()
}
