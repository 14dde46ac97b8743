package projectconfig

import (
	"context"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// setupProject creates a project namespace whose ProjectConfig names two receivers.
func setupProject(t *testing.T, project string) {
	t.Helper()
	env.Namespace(t, project)
	ref := &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "hook-secret"}}
	pc := &haulv1.ProjectConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project},
		Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
			{Name: "gh", GitHub: ref}, {Name: "quay", Quay: ref},
		}},
	}
	if err := env.Client.Create(context.Background(), pc); err != nil {
		t.Fatal(err)
	}
}

func TestReceiverStatusPublished(t *testing.T) {
	const p = "hooks-status"
	setupProject(t, p)
	r := &Reconciler{Client: env.Client, Options: Options{ExternalURL: "https://haul.example.com/"}}
	req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: p, Name: p}}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	pc := &haulv1.ProjectConfig{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: p, Name: p}, pc); err != nil {
		t.Fatal(err)
	}
	if len(pc.Status.WebhookReceivers) != 2 {
		t.Fatalf("status %+v", pc.Status.WebhookReceivers)
	}
	got := pc.Status.WebhookReceivers[0]
	if got.Name != "gh" || got.Path != "/webhooks/hooks-status/gh" || got.URL != "https://haul.example.com/webhooks/hooks-status/gh" {
		t.Fatalf("receiver status %+v", got)
	}
	if c := meta.FindStatusCondition(pc.Status.Conditions, haulv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue || pc.Status.ObservedGeneration != pc.Generation {
		t.Fatalf("Ready %+v at observedGeneration %d; want True at generation %d", c, pc.Status.ObservedGeneration, pc.Generation)
	}
	rv := pc.ResourceVersion
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	_ = env.Client.Get(context.Background(), client.ObjectKey{Namespace: p, Name: p}, pc)
	if pc.ResourceVersion != rv {
		t.Fatal("unchanged receivers were written again")
	}
}

func TestRemovingEveryReceiverClearsTheStatus(t *testing.T) {
	const p = "hooks-cleared"
	setupProject(t, p)
	r := &Reconciler{Client: env.Client}
	req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: p, Name: p}}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	pc := &haulv1.ProjectConfig{}
	if err := env.Client.Get(context.Background(), req.NamespacedName, pc); err != nil {
		t.Fatal(err)
	}
	pc.Spec.WebhookReceivers = nil
	if err := env.Client.Update(context.Background(), pc); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(context.Background(), req.NamespacedName, pc); err != nil {
		t.Fatal(err)
	}
	if len(pc.Status.WebhookReceivers) != 0 {
		t.Fatalf("receivers removed from the spec are still published: %+v", pc.Status.WebhookReceivers)
	}
	if pc.Status.ObservedGeneration != pc.Generation {
		t.Errorf("observedGeneration %d; want %d", pc.Status.ObservedGeneration, pc.Generation)
	}
}
