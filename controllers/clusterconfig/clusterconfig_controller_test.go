package clusterconfig

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

// TestClusterReceiverStatusPublished: the ClusterConfig's receivers are published at
// /webhooks/-/cluster/<name> (with the external URL), Ready is True at the generation,
// and a receiver removed from the spec disappears from the status.
func TestClusterReceiverStatusPublished(t *testing.T) {
	ctx := context.Background()
	ref := haulv1.SecretRef{Name: "hook-secret"}
	cc := &haulv1.ClusterConfig{
		ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName},
		Spec: haulv1.ClusterConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
			{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: ref}},
			{Name: "ci", Generic: &haulv1.GenericWebhookProvider{SecretRef: ref}},
		}},
	}
	if err := env.Client.Create(ctx, cc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cc) })
	r := &Reconciler{Client: env.Client, Options: Options{ExternalURL: "https://haul.example.com/"}}
	req := ctrl.Request{NamespacedName: client.ObjectKey{Name: haulv1.ClusterConfigName}}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	got := &haulv1.ClusterConfig{}
	if err := env.Client.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.WebhookReceivers) != 2 {
		t.Fatalf("status %+v", got.Status.WebhookReceivers)
	}
	if s := got.Status.WebhookReceivers[1]; s.Name != "ci" || s.Path != "/webhooks/-/cluster/ci" || s.URL != "https://haul.example.com/webhooks/-/cluster/ci" {
		t.Fatalf("receiver status %+v", s)
	}
	if c := meta.FindStatusCondition(got.Status.Conditions, haulv1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue || got.Status.ObservedGeneration != got.Generation {
		t.Fatalf("Ready %+v at observedGeneration %d; want True at generation %d", c, got.Status.ObservedGeneration, got.Generation)
	}
	got.Spec.WebhookReceivers = got.Spec.WebhookReceivers[:1]
	if err := env.Client.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(ctx, req.NamespacedName, got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.WebhookReceivers) != 1 || got.Status.WebhookReceivers[0].Name != "gh" {
		t.Fatalf("removed receiver still published: %+v", got.Status.WebhookReceivers)
	}
}
