package warehouse

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/warehouse"
)

func startRegistry(t testing.TB) *testservers.Registry {
	t.Helper()
	r, err := testservers.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func push(t testing.TB, r *testservers.Registry, repo, tag string) string {
	t.Helper()
	d, err := r.PushImage(repo, tag, testservers.ImageOptions{Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func imageSub(repo string) haulv1.RepoSubscription {
	return haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: repo, DiscoveryLimit: 20}}
}

func TestFreightAppearsAfterPushAndRefresh(t *testing.T) {
	ns := env.Namespace(t, "wh-push")
	reg := startRegistry(t)
	d1 := push(t, reg, "app", "1.0.0")
	startController(t, ns, Options{})
	createWarehouse(t, ns, "app", time.Hour, imageSub(reg.Repo("app")))

	origin := haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}
	id1 := warehouse.FreightID(origin, []haulv1.Image{{RepoURL: reg.Repo("app"), Tag: "1.0.0", Digest: d1}}, nil, nil)
	eventually(t, 30*time.Second, "the first Freight", func() bool { return getWarehouse(t, ns, "app").Status.LastFreightID == id1 })
	fr := &haulv1.Freight{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: id1}, fr); err != nil {
		t.Fatal(err)
	}
	if fr.Alias == "" || fr.Labels[haulv1.LabelAlias] != fr.Alias || fr.Origin != origin || fr.Images[0].Digest != d1 {
		t.Fatalf("unexpected Freight: %+v", fr)
	}
	wh := getWarehouse(t, ns, "app")
	if c := condition(wh, haulv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %+v", c)
	}
	if refs := wh.Status.DiscoveredArtifacts.Images[0].References; len(refs) != 1 || refs[0].Tag != "1.0.0" {
		t.Fatalf("discovered %+v", refs)
	}

	d2 := push(t, reg, "app", "1.1.0")
	start := time.Now()
	v := refresh(t, ns, "app")
	id2 := warehouse.FreightID(origin, []haulv1.Image{{RepoURL: reg.Repo("app"), Tag: "1.1.0", Digest: d2}}, nil, nil)
	eventually(t, 30*time.Second, "Freight for 1.1.0", func() bool {
		return getWarehouse(t, ns, "app").Status.LastFreightID == id2
	})
	t.Logf("push + refresh → Freight in %s", time.Since(start))
	if got := getWarehouse(t, ns, "app").Status.LastHandledRefresh; got != v {
		t.Errorf("lastHandledRefresh = %q, want %q", got, v)
	}
	if n := len(listFreight(t, ns)); n != 2 {
		t.Errorf("%d Freight, want 2", n)
	}
}

func TestQuietPollWritesNothing(t *testing.T) {
	ns := env.Namespace(t, "wh-quiet")
	reg := startRegistry(t)
	push(t, reg, "quiet", "1.0.0")
	var requests atomic.Int64
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); h.ServeHTTP(w, r) })
	}
	startController(t, ns, Options{})
	createWarehouse(t, ns, "quiet", time.Second, imageSub(reg.Repo("quiet")))
	eventually(t, 30*time.Second, "the first Freight", func() bool { return getWarehouse(t, ns, "quiet").Status.LastFreightID != "" })
	// Let the first write settle, then watch several 1s polls.
	time.Sleep(1500 * time.Millisecond)
	rv := getWarehouse(t, ns, "quiet").ResourceVersion
	before := requests.Load()
	time.Sleep(4500 * time.Millisecond)
	polls := requests.Load() - before
	if polls < 2 {
		t.Fatalf("only %d registry requests in 4.5s of 1s polls; is the interval honoured?", polls)
	}
	if got := getWarehouse(t, ns, "quiet").ResourceVersion; got != rv {
		t.Errorf("status written by quiet polls: resourceVersion %s → %s", rv, got)
	}
	if n := len(listFreight(t, ns)); n != 1 {
		t.Errorf("%d Freight, want 1", n)
	}
	t.Logf("%d registry requests over ~4 polls", polls)
}

func TestMinIntervalFloor(t *testing.T) {
	r := &Reconciler{Options: Options{MinInterval: time.Minute}}
	wh := &haulv1.Warehouse{Spec: haulv1.WarehouseSpec{Interval: metav1.Duration{Duration: time.Second}}}
	if got := r.interval(wh); got != time.Minute {
		t.Fatalf("interval %s, want the 1m floor", got)
	}
	wh.Spec.Interval.Duration = 0
	if got := r.interval(wh); got != DefaultInterval {
		t.Fatalf("interval %s, want the default", got)
	}
	for i := 0; i < 100; i++ {
		if j := jitter(time.Minute); j < time.Minute || j > 66*time.Second {
			t.Fatalf("jitter %s out of range", j)
		}
	}
}

func TestInvalidConstraintMakesNoFreight(t *testing.T) {
	ns := env.Namespace(t, "wh-invalid")
	reg := startRegistry(t)
	push(t, reg, "app", "1.0.0")
	startController(t, ns, Options{})
	sub := imageSub(reg.Repo("app"))
	sub.Image.Constraint = ">=1.x.y"
	createWarehouse(t, ns, "bad", time.Hour, sub)
	var wh *haulv1.Warehouse
	eventually(t, 30*time.Second, "Ready=False", func() bool {
		wh = getWarehouse(t, ns, "bad")
		c := condition(wh, haulv1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse
	})
	ready, healthy := condition(wh, haulv1.ConditionReady), condition(wh, haulv1.ConditionHealthy)
	if ready.Reason != haulv1.ReasonInvalidConstraint || healthy.Reason != haulv1.ReasonDiscoveryFailed {
		t.Errorf("reasons %s/%s", ready.Reason, healthy.Reason)
	}
	if !strings.Contains(ready.Message, "spec.subscriptions[0].image.constraint") || !strings.Contains(ready.Message, ">=1.x.y") {
		t.Errorf("message does not name the field and value: %s", ready.Message)
	}
	// kstatus: a spec that cannot work is Stalled, not Reconciling.
	if st := condition(wh, haulv1.ConditionStalled); st == nil || st.Status != metav1.ConditionTrue || st.Reason != haulv1.ReasonInvalidConstraint {
		t.Errorf("Stalled is %+v; want True/%s", st, haulv1.ReasonInvalidConstraint)
	}
	if rc := condition(wh, haulv1.ConditionReconciling); rc != nil {
		t.Errorf("a stalled Warehouse says Reconciling %s/%s", rc.Status, rc.Reason)
	}
	rv := wh.ResourceVersion
	time.Sleep(2 * time.Second)
	if n := len(listFreight(t, ns)); n != 0 {
		t.Errorf("%d Freight from an invalid Warehouse", n)
	}
	if got := getWarehouse(t, ns, "bad").ResourceVersion; got != rv {
		t.Errorf("invalid Warehouse keeps being written (hot loop?)")
	}
}

func TestRegistryFaultsKeepFreightAndSurface(t *testing.T) {
	ns := env.Namespace(t, "wh-faults")
	reg := startRegistry(t)
	push(t, reg, "app", "1.0.0")
	var mode atomic.Value
	mode.Store("ok")
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch mode.Load().(string) {
			case "500":
				http.Error(w, "boom", http.StatusInternalServerError)
			case "429":
				w.Header().Set("Retry-After", "30")
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"toomanyrequests"}]}`, http.StatusTooManyRequests)
			default:
				h.ServeHTTP(w, r)
			}
		})
	}
	startController(t, ns, Options{})
	createWarehouse(t, ns, "app", time.Hour, imageSub(reg.Repo("app")))
	eventually(t, 30*time.Second, "the first Freight", func() bool { return getWarehouse(t, ns, "app").Status.LastFreightID != "" })
	good := getWarehouse(t, ns, "app")

	for _, tc := range []struct{ mode, reason string }{{"500", haulv1.ReasonDiscoveryFailed}, {"429", haulv1.ReasonRateLimited}} {
		mode.Store(tc.mode)
		refresh(t, ns, "app")
		var wh *haulv1.Warehouse
		eventually(t, 60*time.Second, tc.reason, func() bool {
			wh = getWarehouse(t, ns, "app")
			c := condition(wh, haulv1.ConditionReady)
			return c != nil && c.Status == metav1.ConditionFalse && c.Reason == tc.reason
		})
		if h := condition(wh, haulv1.ConditionHealthy); h.Reason != tc.reason {
			t.Errorf("%s: Healthy reason %s", tc.mode, h.Reason)
		}
		// An upstream fault is worked on, not stalled: Reconciling says so.
		if rc := condition(wh, haulv1.ConditionReconciling); rc == nil || rc.Status != metav1.ConditionTrue {
			t.Errorf("%s: Reconciling is %+v; want True while the controller retries", tc.mode, rc)
		}
		if st := condition(wh, haulv1.ConditionStalled); st != nil {
			t.Errorf("%s: an upstream fault stalls the Warehouse (%s)", tc.mode, st.Reason)
		}
		if wh.Status.LastFreightID != good.Status.LastFreightID || !sameArtifacts(wh.Status.DiscoveredArtifacts, good.Status.DiscoveredArtifacts) {
			t.Errorf("%s: a failed discovery changed the recorded artifacts", tc.mode)
		}
		if n := len(listFreight(t, ns)); n != 1 {
			t.Errorf("%s: %d Freight", tc.mode, n)
		}
	}
	mode.Store("ok")
	refresh(t, ns, "app")
	eventually(t, 60*time.Second, "recovery to clear Reconciling", func() bool {
		wh := getWarehouse(t, ns, "app")
		c := condition(wh, haulv1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue && condition(wh, haulv1.ConditionReconciling) == nil
	})
}

func TestTwoWarehousesSameArtifactsGetDistinctFreight(t *testing.T) {
	ns := env.Namespace(t, "wh-two")
	reg := startRegistry(t)
	push(t, reg, "shared", "1.0.0")
	startController(t, ns, Options{})
	createWarehouse(t, ns, "one", time.Hour, imageSub(reg.Repo("shared")))
	createWarehouse(t, ns, "two", time.Hour, imageSub(reg.Repo("shared")))
	eventually(t, 30*time.Second, "two Freight", func() bool { return len(listFreight(t, ns)) == 2 })
	fs := listFreight(t, ns)
	if fs[0].Name == fs[1].Name || fs[0].Alias == fs[1].Alias || fs[0].Origin.Name == fs[1].Origin.Name {
		t.Fatalf("Freight not distinct: %s/%s %s/%s", fs[0].Name, fs[0].Alias, fs[1].Name, fs[1].Alias)
	}
}

func TestConcurrentReconcilesMakeOneFreight(t *testing.T) {
	ns := env.Namespace(t, "wh-race")
	reg := startRegistry(t)
	push(t, reg, "race", "1.0.0")
	createWarehouse(t, ns, "race", time.Hour, imageSub(reg.Repo("race")))
	// Two independent reconcilers, as two replicas without leader election would be.
	mk := func() *Reconciler {
		return &Reconciler{
			Client: env.Client, APIReader: env.Client, Recorder: discardRecorder{},
			Discoverer: warehouse.New(warehouse.Options{CacheDir: t.TempDir()}), Now: time.Now,
		}
	}
	a, b := mk(), mk()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []*Reconciler{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "race"}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("reconcile: %v", err)
		}
	}
	if n := len(listFreight(t, ns)); n != 1 {
		t.Fatalf("%d Freight, want 1", n)
	}
}

func TestManualPolicyAndCriteria(t *testing.T) {
	ns := env.Namespace(t, "wh-policy")
	reg := startRegistry(t)
	push(t, reg, "fe", "1.0.0")
	push(t, reg, "be", "1.1.0")
	startController(t, ns, Options{})
	manual := &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manual"},
		Spec: haulv1.WarehouseSpec{
			FreightCreationPolicy: haulv1.FreightCreationManual,
			Subscriptions:         []haulv1.RepoSubscription{imageSub(reg.Repo("fe"))},
		},
	}
	gated := &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gated"},
		Spec: haulv1.WarehouseSpec{
			FreightCreationCriteria: &haulv1.FreightCreationCriteria{Expression: `imageFrom("` + reg.Repo("fe") + `").tag == imageFrom("` + reg.Repo("be") + `").tag`},
			Subscriptions:           []haulv1.RepoSubscription{imageSub(reg.Repo("fe")), imageSub(reg.Repo("be"))},
		},
	}
	for _, wh := range []*haulv1.Warehouse{manual, gated} {
		if err := env.Client.Create(context.Background(), wh); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"manual", "gated"} {
		eventually(t, 30*time.Second, name+" discovered", func() bool {
			wh := getWarehouse(t, ns, name)
			return wh.Status.DiscoveredArtifacts != nil && len(wh.Status.DiscoveredArtifacts.Images) > 0
		})
	}
	if n := len(listFreight(t, ns)); n != 0 {
		t.Fatalf("%d Freight, want none (manual policy; criteria not met)", n)
	}
	push(t, reg, "fe", "1.1.0")
	refresh(t, ns, "gated")
	eventually(t, 30*time.Second, "Freight once the tags match", func() bool { return len(listFreight(t, ns)) == 1 })
}

type discardRecorder struct{}

func (discardRecorder) Event(_ runtimeObject, _, _, _ string)            {}
func (discardRecorder) Eventf(_ runtimeObject, _, _, _ string, _ ...any) {}
func (discardRecorder) AnnotatedEventf(_ runtimeObject, _ map[string]string, _, _, _ string, _ ...any) {
}
