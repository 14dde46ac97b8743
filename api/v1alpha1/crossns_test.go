package v1alpha1_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// TestReferencesNeverNameAnotherNamespace (scenario 44): the fields that name a
// Secret or a channel (whose Secret holds credentials) take a name only; the
// namespace is fixed by where they are used. A namespace/name value, or one with ':'
// as in "git:secret:other/x", is refused by the API server with the field and the
// value named, so it can never reach a reader that might resolve it elsewhere.
func TestReferencesNeverNameAnotherNamespace(t *testing.T) {
	ns := env.Namespace(t, "crossns")
	ctx := context.Background()
	for _, bad := range []string{"other-team/hook-secret", "git:secret:other-team/x", "../other-team"} {
		for name, tc := range map[string]struct {
			obj   client.Object
			field string
		}{
			"webhook receiver secretRef": {&haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns},
				Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
					{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: bad}}}}}},
				"spec.webhookReceivers[0].github.secretRef.name"},
			"MessageChannel secretRef": {&haulv1.MessageChannel{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "slack"},
				Spec: haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: bad}, Slack: &haulv1.SlackChannel{}}},
				"spec.secretRef.name"},
			"ClusterMessageChannel secretRef": {&haulv1.ClusterMessageChannel{ObjectMeta: metav1.ObjectMeta{Name: "crossns-slack"},
				Spec: haulv1.MessageChannelSpec{SecretRef: &haulv1.SecretRef{Name: bad}, Slack: &haulv1.SlackChannel{}}},
				"spec.secretRef.name"},
			"EventRouter channel": {&haulv1.EventRouter{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "r"},
				Spec: haulv1.EventRouterSpec{Types: []haulv1.EventType{haulv1.EventPromotionSucceeded},
					Channels: []haulv1.EventRouterChannel{{Name: bad}}}},
				"spec.channels[0].name"},
		} {
			t.Run(name+" "+bad, func(t *testing.T) {
				err := env.Client.Create(ctx, tc.obj)
				if err == nil {
					_ = env.Client.Delete(ctx, tc.obj)
					t.Fatalf("%s %q was accepted", tc.field, bad)
				}
				if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), `"`+bad+`"`) {
					t.Fatalf("refusal %q does not name %s and %q", err, tc.field, bad)
				}
			})
		}
	}
	// A plain name is accepted.
	pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns},
		Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
			{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "hook-secret"}}}}}}
	if err := env.Client.Create(ctx, pc); err != nil {
		t.Fatalf("a plain Secret name: %v", err)
	}
}
