package stage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	promotionctrl "github.com/haul-dev/haul/controllers/promotion"
	"github.com/haul-dev/haul/controllers/stage"
	warehousectrl "github.com/haul-dev/haul/controllers/warehouse"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// writes counts every create, update, patch and delete the controllers send;
// statusWrites the status subresource writes among them, and conflicts the writes the
// API server refused with 409 Conflict (a stale resourceVersion: two writers racing).
var writes, statusWrites, conflicts atomic.Int64

// writesByKind and conflictsByKind count writes and conflicts by "verb *Type", for the
// benchmark's log.
var writesByKind, conflictsByKind sync.Map

func addTo(m *sync.Map, key string) {
	n, _ := m.LoadOrStore(key, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// countConflict counts the write by kind, and err when it is a write conflict, and
// returns err unchanged.
func countConflict(verb string, o client.Object, err error) error {
	key := fmt.Sprintf("%s %T", verb, o)
	addTo(&writesByKind, key)
	if apierrors.IsConflict(err) {
		conflicts.Add(1)
		addTo(&conflictsByKind, key)
	}
	return err
}

var (
	managerOnce sync.Once
	managerErr  error
)

// startManager runs the Stage controller and the real Promotion controller once for
// the package; tests isolate themselves by namespace.
func startManager(t testing.TB) {
	t.Helper()
	managerOnce.Do(func() {
		ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(testLogWriter{}), func(o *zap.Options) { o.TimeEncoder = zapcore.RFC3339NanoTimeEncoder }))
		mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
			Scheme:                 env.Scheme,
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Controller:             config.Controller{SkipNameValidation: ptr(true)},
			NewClient: func(cfg *rest.Config, opts client.Options) (client.Client, error) {
				c, err := client.NewWithWatch(cfg, opts)
				if err != nil {
					return nil, err
				}
				count := func() { writes.Add(1) }
				return interceptor.NewClient(c, interceptor.Funcs{
					Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
						count()
						return countConflict("create", o, c.Create(ctx, o, opts...))
					},
					Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
						count()
						return countConflict("update", o, c.Update(ctx, o, opts...))
					},
					Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
						count()
						return countConflict("patch", o, c.Patch(ctx, o, p, opts...))
					},
					Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
						count()
						return countConflict("delete", o, c.Delete(ctx, o, opts...))
					},
					SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
						count()
						statusWrites.Add(1)
						return countConflict("status update", o, c.SubResource(sub).Update(ctx, o, opts...))
					},
					SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
						count()
						statusWrites.Add(1)
						return countConflict("status patch", o, c.SubResource(sub).Patch(ctx, o, p, opts...))
					},
				}), nil
			},
		})
		if err != nil {
			managerErr = err
			return
		}
		work, _ := os.MkdirTemp("", "haul-stage-test-")
		if err := stage.SetupWithManager(mgr, stage.Options{HealthInterval: time.Second, WorkDir: work, Now: testClock}); err != nil {
			managerErr = err
			return
		}
		if err := promotionctrl.SetupWithManager(mgr, promotionctrl.Options{WorkDir: work, Now: testClock}); err != nil {
			managerErr = err
			return
		}
		if err := warehousectrl.SetupWithManager(mgr, warehousectrl.Options{RegistryRPS: 1000, CacheDir: work + "/discovery"}); err != nil {
			managerErr = err
			return
		}
		go func() {
			if err := mgr.Start(context.Background()); err != nil {
				fmt.Fprintln(os.Stderr, "manager stopped:", err)
			}
		}()
		mgr.GetCache().WaitForCacheSync(context.Background())
	})
	if managerErr != nil {
		t.Fatal(managerErr)
	}
}

// clockOffset shifts the controllers' clock (testClock) from the real one; see
// shiftClock.
var clockOffset atomic.Int64

func testClock() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

// shiftClock moves the controllers' clock by d from the real one until the test ends.
func shiftClock(t testing.TB, d time.Duration) {
	t.Helper()
	clockOffset.Store(int64(d))
	t.Cleanup(func() { clockOffset.Store(0) })
}

type testLogWriter struct{}

func (testLogWriter) Write(p []byte) (int, error) {
	if os.Getenv("HAUL_TEST_LOG") != "" {
		return os.Stderr.Write(p)
	}
	return len(p), nil
}

func ptr[T any](v T) *T { return &v }

// eventually polls cond every 100ms for up to 60s, failing with what describe reports.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

var ctx = context.Background()

// project creates a namespace and, when auto is set, a ProjectConfig enabling
// auto-promotion for every Stage.
func project(t testing.TB, name string, auto bool) string {
	t.Helper()
	ns := env.Namespace(t, name)
	if auto {
		cfg := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}}
		cfg.Spec.PromotionPolicies = []haulv1.PromotionPolicy{{StageSelector: haulv1.StageSelector{Name: "glob:*"}, AutoPromotionEnabled: true}}
		must(t, env.Client.Create(ctx, cfg))
	}
	return ns
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var origin = haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "app"}

func rawJSON(v any) *apiextensionsv1.JSON {
	b, _ := json.Marshal(v)
	return &apiextensionsv1.JSON{Raw: b}
}

// stageSpec builds a Stage taking Freight from origin, directly (no upstreams) or from
// upstream stages, whose promotion writes a file (so Promotions succeed quickly), and
// fails when the Freight's alias starts with "bad".
func newStage(ns, name string, upstreams ...string) *haulv1.Stage {
	s := &haulv1.Stage{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	req := haulv1.FreightRequest{Origin: origin}
	if len(upstreams) == 0 {
		req.Sources.Direct = true
	} else {
		req.Sources.Stages = upstreams
	}
	s.Spec.RequestedFreight = []haulv1.FreightRequest{req}
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
		{Uses: "fail", If: `${{ ctx.targetFreight.alias startsWith "bad" }}`, Config: rawJSON(map[string]any{"message": "bad freight"})},
		{Uses: "file-write", Config: rawJSON(map[string]any{"path": "promoted.txt", "contents": "ok"})},
	}}}
	return s
}

var freightSeq atomic.Int64

// newFreight creates Freight from origin with the given alias; names are unique.
func newFreight(t testing.TB, ns, alias string) *haulv1.Freight {
	t.Helper()
	n := freightSeq.Add(1)
	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%040x", n*7919+int64(len(ns))*104729)},
		Alias:      alias,
		Origin:     origin,
		Images:     []haulv1.Image{{RepoURL: "registry.example/app", Tag: alias}},
	}
	must(t, env.Client.Create(ctx, f))
	return f
}

func getStage(t testing.TB, ns, name string) *haulv1.Stage {
	t.Helper()
	s := &haulv1.Stage{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, s))
	return s
}

func getFreight(t testing.TB, ns, name string) *haulv1.Freight {
	t.Helper()
	f := &haulv1.Freight{}
	must(t, env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, f))
	return f
}

func promotionsOf(t testing.TB, ns, stageName string) []haulv1.Promotion {
	t.Helper()
	var list haulv1.PromotionList
	must(t, env.Client.List(ctx, &list, client.InNamespace(ns)))
	var out []haulv1.Promotion
	for _, p := range list.Items {
		if p.Spec.Stage == stageName {
			out = append(out, p)
		}
	}
	return out
}

func current(s *haulv1.Stage) string {
	if len(s.Status.FreightHistory) == 0 {
		return ""
	}
	return s.Status.FreightHistory[0].Items[origin.String()].Name
}

func condition(s *haulv1.Stage, typ string) string {
	c := meta.FindStatusCondition(s.Status.Conditions, typ)
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s/%s: %s", c.Status, c.Reason, c.Message)
}

// waitCurrent waits until the Stage holds Freight f.
func waitCurrent(t testing.TB, ns, stageName string, f *haulv1.Freight) {
	t.Helper()
	eventually(t, fmt.Sprintf("stage %s to hold %s", stageName, f.Alias), func() (bool, string) {
		s := getStage(t, ns, stageName)
		return current(s) == f.Name, fmt.Sprintf("current=%q promotions=%s", current(s), describePromotions(t, ns, stageName))
	})
}

func describePromotions(t testing.TB, ns, stageName string) string {
	var parts []string
	for _, p := range promotionsOf(t, ns, stageName) {
		parts = append(parts, fmt.Sprintf("%s(%s,%s,%s)", p.Name, p.Spec.Freight[:7], p.Status.Phase, p.Status.Message))
	}
	return strings.Join(parts, " ")
}

// settle waits until a reconcile pass has seen a fresh refresh request, so negative
// assertions ("no Promotion was created") are checked after the controller looked.
func settle(t testing.TB, ns, stageName string) {
	t.Helper()
	token := fmt.Sprint(time.Now().UnixNano())
	s := getStage(t, ns, stageName)
	patch := client.MergeFrom(s.DeepCopy())
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[haulv1.AnnotationRefresh] = token
	must(t, env.Client.Patch(ctx, s, patch))
	eventually(t, "the stage controller to handle a refresh", func() (bool, string) {
		s := getStage(t, ns, stageName)
		return s.Status.LastHandledRefresh == token, s.Status.LastHandledRefresh
	})
}
