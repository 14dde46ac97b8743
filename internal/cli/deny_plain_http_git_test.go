package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

// checkDenyPlainHTTPGit points a git-clone step and a Warehouse subscription at a real
// Git server reachable only over plain http: with --deny-plain-http-git both are
// refused, each saying why, so credentials would never cross the network unencrypted.
func checkDenyPlainHTTPGit(t *testing.T, done <-chan error, out *syncBuffer) {
	git, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = git.Close() })
	if _, err := git.SeedRepo("app", map[string]string{"README.md": "hello\n"}); err != nil {
		t.Fatal(err)
	}
	repoURL := git.RepoURL("app")
	if !strings.HasPrefix(repoURL, "http://") {
		t.Fatalf("test git server URL %q is not plain http", repoURL)
	}

	ns := env.Namespace(t, "deny-plain-git")

	raw, _ := json.Marshal(map[string]any{"repoURL": repoURL, "checkout": []map[string]any{{"branch": "main", "path": "src"}}})
	objs := []client.Object{
		&haulv1.Warehouse{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "w"},
			Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{
				Git: &haulv1.GitSubscription{RepoURL: repoURL},
			}}},
		},
		&haulv1.Stage{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test"},
			Spec: haulv1.StageSpec{
				RequestedFreight: []haulv1.FreightRequest{{
					Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Sources: haulv1.FreightSources{Direct: true},
				}},
				PromotionTemplate: &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: []haulv1.PromotionStep{
					{Uses: "git-clone", As: "clone", Config: &apiextensionsv1.JSON{Raw: raw}},
				}}},
			},
		},
		&haulv1.Freight{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "f0123456789b"},
			Origin:     haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
			Images:     []haulv1.Image{{RepoURL: "example.com/app", Tag: "1.0.0"}},
		},
		&haulv1.Promotion{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "test-clone"},
			Spec:       haulv1.PromotionSpec{Stage: "test", Freight: "f0123456789b"},
		},
	}
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}

	var promoMsg, whMsg string
	deadline := time.Now().Add(90 * time.Second)
	for promoMsg == "" || whMsg == "" {
		select {
		case err := <-done:
			t.Fatalf("haul controller exited: %v\n%s", err, out.String())
		default:
		}
		p := &haulv1.Promotion{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "test-clone"}, p); err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase.IsTerminal() {
			if p.Status.Phase == haulv1.PromotionSucceeded {
				t.Fatalf("git-clone of %s succeeded despite --deny-plain-http-git", repoURL)
			}
			promoMsg = p.Status.Message
		}
		w := &haulv1.Warehouse{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "w"}, w); err != nil {
			t.Fatal(err)
		}
		if c := apimeta.FindStatusCondition(w.Status.Conditions, haulv1.ConditionReady); c != nil && c.Status == metav1.ConditionFalse {
			whMsg = c.Message
		}
		if time.Now().After(deadline) {
			t.Fatalf("not refused in time: promotion %q, warehouse %q", promoMsg, whMsg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for what, msg := range map[string]string{"promotion": promoMsg, "warehouse": whMsg} {
		for _, want := range []string{repoURL, "plain http"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s message %q does not contain %q", what, msg, want)
			}
		}
	}
	var freight haulv1.FreightList
	if err := env.Client.List(context.Background(), &freight, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(freight.Items) != 1 {
		t.Fatalf("the Warehouse made Freight from a refused remote: %d Freight", len(freight.Items))
	}
}
