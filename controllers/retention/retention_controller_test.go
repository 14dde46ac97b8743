package retention

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// project creates the Project object and its namespace, with a ProjectConfig holding rp.
func project(t *testing.T, ns string, rp *haulv1.RetentionPolicy) *haulv1.Project {
	t.Helper()
	ctx := context.Background()
	env.Namespace(t, ns)
	p := &haulv1.Project{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	must(t, env.Client.Create(ctx, p))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
	if rp != nil {
		must(t, env.Client.Create(ctx, &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}, Spec: haulv1.ProjectConfigSpec{Retention: rp}}))
	}
	return p
}

func stage(t *testing.T, ns, name string, st haulv1.StageStatus) {
	t.Helper()
	ctx := context.Background()
	s := &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: haulv1.StageSpec{RequestedFreight: []haulv1.FreightRequest{{
			Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Sources: haulv1.FreightSources{Direct: true},
		}}},
	}
	must(t, env.Client.Create(ctx, s))
	s.Status = st
	must(t, env.Client.Status().Update(ctx, s))
}

func promotion(t *testing.T, ns, name, stage, freight string, phase haulv1.PromotionPhase, seq int64) {
	t.Helper()
	ctx := context.Background()
	p := &haulv1.Promotion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{haulv1.AnnotationCreateActor: "alice"}},
		Spec:       haulv1.PromotionSpec{Stage: stage, Freight: freight},
	}
	must(t, env.Client.Create(ctx, p))
	now := metav1.Now()
	p.Status = haulv1.PromotionStatus{Phase: phase, Sequence: seq, Message: "done " + name, StartedAt: &now,
		Freight: &haulv1.FreightReference{Name: freight, Alias: "alias-" + freight}}
	if phase.IsTerminal() {
		p.Status.FinishedAt = &now
	}
	must(t, env.Client.Status().Update(ctx, p))
}

// freight creates Freight of Warehouse w minted at created, with status st.
func freight(t *testing.T, ns, name string, created time.Time, st haulv1.FreightStatus) {
	t.Helper()
	ctx := context.Background()
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{haulv1.AnnotationCreatedAt: created.Format(time.RFC3339Nano)}},
		Origin:     haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "registry.example/app", Tag: name}},
	}
	must(t, env.Client.Create(ctx, f))
	if st.CurrentlyIn != nil || st.VerifiedIn != nil || st.ApprovedFor != nil {
		f.Status = st
		must(t, env.Client.Status().Update(ctx, f))
	}
}

func names(t *testing.T, ns string, list client.ObjectList) []string {
	t.Helper()
	must(t, env.Client.List(context.Background(), list, client.InNamespace(ns)))
	var out []string
	switch l := list.(type) {
	case *haulv1.PromotionList:
		for _, p := range l.Items {
			out = append(out, p.Name)
		}
	case *haulv1.FreightList:
		for _, f := range l.Items {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}

func reconciler(now time.Time, d Defaults) (*Reconciler, *record.FakeRecorder) {
	rec := record.NewFakeRecorder(10)
	return &Reconciler{Client: env.Client, Reader: env.Client, Recorder: rec, Options: Options{Defaults: d, Now: func() time.Time { return now }}}, rec
}

// TestRetentionKeepsNewestPromotionsAndArchivesTheRest: with promotionsPerStage 2, the
// two newest terminal Promotions stay, and so do one that the Stage's freight history
// names and one still running; the others are deleted and their compact records (who,
// what, phase, when) are in the Stage's promotion history. A second sweep writes
// nothing.
func TestRetentionKeepsNewestPromotionsAndArchivesTheRest(t *testing.T) {
	const ns = "retention-promos"
	p := project(t, ns, &haulv1.RetentionPolicy{PromotionsPerStage: ptr.To[int32](2)})
	for i := 1; i <= 5; i++ {
		phase := haulv1.PromotionSucceeded
		if i == 3 {
			phase = haulv1.PromotionFailed
		}
		promotion(t, ns, fmt.Sprintf("p%d", i), "s", "f1", phase, int64(i))
	}
	promotion(t, ns, "p6", "s", "f1", haulv1.PromotionRunning, 6)
	promotion(t, ns, "o1", "other", "f1", haulv1.PromotionSucceeded, 1)
	stage(t, ns, "s", haulv1.StageStatus{
		LastPromotion:  &haulv1.PromotionReference{Name: "p5"},
		FreightHistory: []haulv1.FreightCollection{{ID: "f1", Promotion: "p2"}},
	})
	r, events := reconciler(time.Now(), Defaults{PromotionsPerStage: 100})
	req := ctrl.Request{NamespacedName: client.ObjectKey{Name: ns}}
	res, err := r.Reconcile(context.Background(), req)
	must(t, err)
	if res.RequeueAfter != DefaultInterval {
		t.Fatalf("next sweep in %v, want %v", res.RequeueAfter, DefaultInterval)
	}
	if got, want := strings.Join(names(t, ns, &haulv1.PromotionList{}), ","), "o1,p2,p4,p5,p6"; got != want {
		t.Fatalf("Promotions left %s, want %s", got, want)
	}
	hist, err := History(context.Background(), env.Client, ns, "s")
	must(t, err)
	if len(hist) != 2 || hist[0].Name != "p3" || hist[1].Name != "p1" {
		t.Fatalf("history %+v, want p3 then p1", hist)
	}
	if h := hist[0]; h.Actor != "alice" || h.Phase != haulv1.PromotionFailed || h.Freight != "f1" || h.FreightAlias != "alias-f1" || h.FinishedAt == nil || h.Stage != "s" {
		t.Fatalf("record %+v lost who promoted what and when", h)
	}
	shown := AsPromotion(ns, hist[0])
	if shown.Spec.Stage != "s" || shown.Status.Phase != haulv1.PromotionFailed || shown.Annotations[haulv1.AnnotationArchived] != "true" {
		t.Fatalf("archived Promotion for display %+v", shown)
	}
	select {
	case e := <-events.Events:
		if !strings.Contains(e, haulv1.ReasonRetentionSweep) || !strings.Contains(e, "deleted 2 Promotion(s)") {
			t.Fatalf("event %q", e)
		}
	default:
		t.Fatal("no event for a sweep that deleted")
	}
	_ = p
	cm := &corev1.ConfigMap{}
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: HistoryName("s")}, cm))
	rv := cm.ResourceVersion
	_, err = r.Reconcile(context.Background(), req)
	must(t, err)
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: HistoryName("s")}, cm))
	if cm.ResourceVersion != rv {
		t.Fatal("an idle sweep rewrote the history")
	}
	select {
	case e := <-events.Events:
		t.Fatalf("idle sweep sent event %q", e)
	default:
	}
}

// TestRetentionNeverDeletesFreightInUse covers each rule that keeps Freight, with the
// clock injected a month ahead: the newest M, Freight a Stage holds (currentlyIn, or its
// current history entry), Freight a Promotion in flight references, and Freight
// verified or approved within minFreightAge. Only the old, unused Freight goes; an hour
// after minting, with the real age below the minimum, nothing goes.
func TestRetentionNeverDeletesFreightInUse(t *testing.T) {
	const ns = "retention-freight"
	project(t, ns, &haulv1.RetentionPolicy{FreightPerWarehouse: ptr.To[int32](1), MinFreightAge: &metav1.Duration{Duration: 24 * time.Hour}})
	minted := time.Now()
	month := minted.Add(30 * 24 * time.Hour)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: month.Add(-d)} }
	seq := 0
	mk := func(name string, st haulv1.FreightStatus) {
		seq++
		freight(t, ns, name, minted.Add(time.Duration(seq)*time.Second), st)
	}
	mk("plain-old", haulv1.FreightStatus{})
	mk("held", haulv1.FreightStatus{CurrentlyIn: map[string]haulv1.CurrentStage{"s": {}}})
	mk("in-history", haulv1.FreightStatus{})
	mk("in-flight", haulv1.FreightStatus{})
	mk("verified-recently", haulv1.FreightStatus{VerifiedIn: map[string]haulv1.VerifiedStage{"s": {VerifiedAt: at(time.Hour)}}})
	mk("approved-recently", haulv1.FreightStatus{ApprovedFor: map[string]haulv1.ApprovedStage{"prod": {ApprovedAt: at(time.Hour)}}})
	mk("verified-long-ago", haulv1.FreightStatus{VerifiedIn: map[string]haulv1.VerifiedStage{"s": {VerifiedAt: at(48 * time.Hour)}}})
	mk("newest", haulv1.FreightStatus{})
	stage(t, ns, "s", haulv1.StageStatus{FreightHistory: []haulv1.FreightCollection{
		{ID: "in-history", Items: map[string]haulv1.FreightReference{"Warehouse/w": {Name: "in-history"}}},
		{ID: "plain-old", Items: map[string]haulv1.FreightReference{"Warehouse/w": {Name: "plain-old", Images: []haulv1.Image{{RepoURL: "registry.example/app", Tag: "plain-old"}}}}},
	}})
	promotion(t, ns, "pending", "s", "in-flight", haulv1.PromotionPending, 0)
	req := ctrl.Request{NamespacedName: client.ObjectKey{Name: ns}}

	young, _ := reconciler(minted.Add(time.Hour), Defaults{})
	_, err := young.Reconcile(context.Background(), req)
	must(t, err)
	if got := names(t, ns, &haulv1.FreightList{}); len(got) != 8 {
		t.Fatalf("Freight younger than minFreightAge deleted: left %v", got)
	}

	r, _ := reconciler(month, Defaults{})
	_, err = r.Reconcile(context.Background(), req)
	must(t, err)
	want := "approved-recently,held,in-flight,in-history,newest,verified-recently"
	if got := strings.Join(names(t, ns, &haulv1.FreightList{}), ","); got != want {
		t.Fatalf("Freight left %s, want %s", got, want)
	}
	s := &haulv1.Stage{}
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "s"}, s))
	if ref := s.Status.FreightHistory[1].Items["Warehouse/w"]; ref.Name != "plain-old" || len(ref.Images) != 1 {
		t.Fatalf("the Stage's freight history lost deleted Freight: %+v", ref)
	}
	err = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "plain-old"}, &haulv1.Freight{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("plain-old: %v", err)
	}
}

// TestRetentionOffByDefault: with no policy and zero defaults nothing is deleted.
func TestRetentionOffByDefault(t *testing.T) {
	const ns = "retention-off"
	project(t, ns, nil)
	for i := 1; i <= 3; i++ {
		promotion(t, ns, fmt.Sprintf("p%d", i), "s", "f1", haulv1.PromotionSucceeded, int64(i))
	}
	freight(t, ns, "old", time.Now().Add(-time.Hour*24*365), haulv1.FreightStatus{})
	r, _ := reconciler(time.Now(), Defaults{})
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Name: ns}})
	must(t, err)
	if got := names(t, ns, &haulv1.PromotionList{}); len(got) != 3 {
		t.Fatalf("Promotions left %v", got)
	}
	if got := names(t, ns, &haulv1.FreightList{}); len(got) != 1 {
		t.Fatalf("Freight left %v", got)
	}
}
