package stage_test

import (
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

	must(t, env.Client.Delete(ctx, cc))
	waitCurrent(t, a, "test", fa)
	waitCurrent(t, b, "test", fb)
}
