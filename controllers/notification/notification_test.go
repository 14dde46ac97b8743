package notification_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/controllers/notification"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/pkg/notify"
)

var (
	env    *testenv.Env
	router *notification.Router
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

var managerOnce sync.Once

// startManager runs the notification controller once for the package.
func startManager(t *testing.T) {
	t.Helper()
	var err error
	managerOnce.Do(func() {
		skip := true
		var mgr ctrl.Manager
		mgr, err = ctrl.NewManager(env.Config, ctrl.Options{
			Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
			Controller: config.Controller{SkipNameValidation: &skip},
		})
		if err != nil {
			return
		}
		router, err = notification.SetupWithManager(mgr, notification.Options{InitialBackoff: 50 * time.Millisecond})
		if err != nil {
			return
		}
		go func() { _ = mgr.Start(context.Background()) }()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// receiver is a local webhook that fails its first failFirst requests with 503.
type receiver struct {
	mu        sync.Mutex
	failFirst int
	bodies    []string
	sigs      []string
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.bodies = append(r.bodies, string(b))
		r.sigs = append(r.sigs, req.Header.Get("X-Haul-Signature"))
		if len(r.bodies) <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...), append([]string(nil), r.sigs...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func channel(t *testing.T, ns, name, url string) {
	t.Helper()
	ctx := context.Background()
	if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-key"},
		StringData: map[string]string{"hmacKey": "s3cret-hmac-key"}}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &haulv1.MessageChannel{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: name + "-key"}, HTTP: &haulv1.HTTPChannel{URL: url}}}); err != nil {
		t.Fatal(err)
	}
}

func failedPromotion(t *testing.T, ns, name, stage string) {
	t.Helper()
	ctx := context.Background()
	p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{haulv1.AnnotationCreateActor: "cli:alice"}},
		Spec: haulv1.PromotionSpec{Stage: stage, Freight: "0123456789abcdef"}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	p.Status = haulv1.PromotionStatus{Phase: haulv1.PromotionFailed, Message: "step push: remote rejected", StartedAt: &now, FinishedAt: &now,
		Freight: &haulv1.FreightReference{Name: "0123456789abcdef", Alias: "brave-otter"}}
	if err := env.Client.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// TestFailedPromotionIsDeliveredAndRetriedOnce: an EventRouter for PromotionFailed in
// prod sends its rendered output to a signed webhook channel; the receiver answers 503
// once, the message arrives on the second attempt (exactly two requests), and the
// channel's status says so. A failure in another Stage is not routed (`when`), and
// the Secret's key is never in the status.
func TestFailedPromotionIsDeliveredAndRetriedOnce(t *testing.T) {
	startManager(t)
	ns := env.Namespace(t, "notify-retry")
	rcv := newReceiver(t, 1)
	channel(t, ns, "ops", rcv.srv.URL)
	if err := env.Client.Create(context.Background(), &haulv1.EventRouter{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prod-failures"},
		Spec: haulv1.EventRouterSpec{
			Types:    []haulv1.EventType{haulv1.EventPromotionFailed},
			When:     "event.stageName == 'prod'",
			Channels: []haulv1.EventRouterChannel{{Kind: haulv1.ChannelKindNamespaced, Name: "ops"}},
			Output:   "${{ event.type }}: ${{ event.freight.alias }} to ${{ event.stageName }} by ${{ event.actor }}: ${{ event.message }}",
		}}); err != nil {
		t.Fatal(err)
	}
	failedPromotion(t, ns, "uat.1", "uat")
	failedPromotion(t, ns, "prod.1", "prod")

	eventually(t, "two requests", func() bool { b, _ := rcv.got(); return len(b) >= 2 })
	time.Sleep(500 * time.Millisecond) // nothing more may arrive
	bodies, sigs := rcv.got()
	if len(bodies) != 2 {
		t.Fatalf("the receiver got %d requests, want 2 (one 503, one retry): %q", len(bodies), bodies)
	}
	var env1 struct {
		Text  string `json:"text"`
		Event struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"event"`
	}
	if err := json.Unmarshal([]byte(bodies[1]), &env1); err != nil {
		t.Fatalf("body %q: %v", bodies[1], err)
	}
	if want := "PromotionFailed: brave-otter to prod by cli:alice: step push: remote rejected"; env1.Text != want || env1.Event.Name != "prod.1" {
		t.Fatalf("delivered %+v, want text %q about prod.1", env1, want)
	}
	for i, s := range sigs {
		if !notify.Verify([]byte("s3cret-hmac-key"), []byte(bodies[i]), s) {
			t.Fatalf("request %d: signature %q does not verify", i, s)
		}
	}
	mc := &haulv1.MessageChannel{}
	eventually(t, "the channel's status", func() bool {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ops"}, mc); err != nil {
			t.Fatal(err)
		}
		return mc.Status.Delivered == 1
	})
	d := mc.Status.LastDelivery
	if d == nil || d.Outcome != haulv1.DeliveryDelivered || d.Attempts != 2 || d.Event != "PromotionFailed" ||
		d.Subject != "Promotion/"+ns+"/prod.1" || d.Router != "EventRouter/"+ns+"/prod-failures" {
		t.Fatalf("lastDelivery = %+v", d)
	}
	raw, _ := json.Marshal(mc.Status)
	if strings.Contains(string(raw), "s3cret") {
		t.Fatalf("the channel status shows the secret: %s", raw)
	}
}

// TestUndeliverableMessageIsRecordedAsFailed: a receiver that refuses (400) is not
// retried; the channel's status records the failure and the receiver's answer.
func TestUndeliverableMessageIsRecordedAsFailed(t *testing.T) {
	startManager(t)
	ns := env.Namespace(t, "notify-refused")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "bad payload", http.StatusBadRequest)
	}))
	defer srv.Close()
	channel(t, ns, "ops", srv.URL)
	if err := env.Client.Create(context.Background(), &haulv1.EventRouter{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"},
		Spec: haulv1.EventRouterSpec{Types: []haulv1.EventType{haulv1.EventPromotionFailed},
			Channels: []haulv1.EventRouterChannel{{Name: "ops"}}}}); err != nil {
		t.Fatal(err)
	}
	failedPromotion(t, ns, "test.1", "test")
	mc := &haulv1.MessageChannel{}
	eventually(t, "a recorded failure", func() bool {
		_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "ops"}, mc)
		return mc.Status.Failed == 1
	})
	if f := mc.Status.LastFailure; f == nil || f.Attempts != 1 || !strings.Contains(f.Message, "400") {
		t.Fatalf("lastFailure = %+v, want one attempt with the 400", f)
	}
}

// TestSendMessageThroughTheRouter: the Router's Send (the send-message step's path)
// delivers at once to a project's channel and never to another project's.
func TestSendMessageThroughTheRouter(t *testing.T) {
	startManager(t)
	ns := env.Namespace(t, "notify-send")
	other := env.Namespace(t, "notify-send-other")
	rcv := newReceiver(t, 0)
	channel(t, other, "theirs", rcv.srv.URL)
	channel(t, ns, "ours", rcv.srv.URL)
	ctx := context.Background()
	if _, err := router.Send(ctx, ns, notify.ChannelRef{Kind: haulv1.ChannelKindNamespaced, Namespace: other, Name: "theirs"}, notify.Message{Text: "x"}); err == nil {
		t.Fatal("a project reached another project's channel")
	}
	if _, err := router.Send(ctx, ns, notify.ChannelRef{Kind: haulv1.ChannelKindNamespaced, Name: "ours"}, notify.Message{Text: "deployed"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := rcv.got(); len(b) != 1 || !strings.Contains(b[0], `"text":"deployed"`) {
		t.Fatalf("receiver got %q", b)
	}
}
