package promotion_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
	"github.com/haul-dev/haul/promotion"
)

// Kargo's cluster-reading expression functions (freightMetadata, freightStatus,
// stageMetadata, secret, configMap, sharedSecret, sharedConfigMap) against a real API
// server, with the values Kargo's own code computes for the same objects: metadata
// numbers decoded by encoding/json (float64), a missing object nil (Freight, Stage) or
// an empty map (Secret, ConfigMap). Tenant isolation is tried as an attacker would: a
// Promotion of project "shop" naming another project's Secret.
func TestKargoDataFunctionsOnARealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	shop := env.Namespace(t, "shop")
	other := env.Namespace(t, "other-team")
	shared := env.Namespace(t, "shared-resources")

	f := &haulv1.Freight{
		ObjectMeta: metav1.ObjectMeta{Namespace: shop, Name: "f1"},
		Origin:     haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"},
		Images:     []haulv1.Image{{RepoURL: "registry.example.com/app", Tag: "1.0.0"}},
	}
	if err := env.Client.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Status.Metadata = map[string]apiextensionsv1.JSON{
		"build": {Raw: []byte(`{"number":7,"tags":["a","b"]}`)},
		"note":  {Raw: []byte(`"ok"`)},
	}
	if err := env.Client.Status().Update(ctx, f); err != nil {
		t.Fatal(err)
	}
	secret := func(ns, name string, generic bool, data map[string]string) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
		if generic {
			s.Labels = map[string]string{haulv1.LabelCredType: "generic"}
		}
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	secret(shared, "slack", true, map[string]string{"token": "xoxb-shared-1"})
	secret(shared, "repo-creds", false, map[string]string{"password": "shared-repo-pw"})
	gitCreds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "git-creds", Labels: map[string]string{haulv1.LabelCredType: "git"}},
		StringData: map[string]string{"repoURL": "https://git.example.com/x", "username": "bot", "password": "shared-git-pw"}}
	if err := env.Client.Create(ctx, gitCreds); err != nil {
		t.Fatal(err)
	}
	secret(other, "other-token", true, map[string]string{"token": "other-team-secret-9"})
	secret(shop, "own", true, map[string]string{"token": "shop-own-3"})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "settings"}, Data: map[string]string{"region": "eu-west-1"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}

	kube := kubernetes.NewForConfigOrDie(env.Config)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	e := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{
		Kube: kube, Dynamic: dyn, SharedNamespace: shared, UIBaseURL: "https://haul.example.com",
	}}
	runOne := func(t *testing.T, cfg map[string]any) (promotion.Result, map[string]any) {
		t.Helper()
		res, st := e.Run(ctx, promotion.Request{
			Project: shop, Stage: "prod", Promotion: "prod.01", Actor: "alice@example.com",
			Freight: haulv1.FreightReference{Name: "f1", Origin: haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: "w"}},
			Steps:   []haulv1.PromotionStep{step("compose-output", "out", cfg)}, WorkDir: t.TempDir(),
		})
		out, _ := st.Outputs["out"].(map[string]any)
		return res, out
	}

	t.Run("values as Kargo computes them", func(t *testing.T) {
		want := map[string]any{
			// json.Unmarshal into any: 7 is float64(7).
			"number":      float64(7),
			"tag1":        "b",
			"note":        "ok",
			"statusNote":  "ok",
			"noFreight":   true,
			"noStageMeta": true,
			"slackOK":     true,
			"region":      "eu-west-1",
			"noCM":        true,
			"ownOK":       true,
			"actor":       "alice@example.com",
			"ui":          "https://haul.example.com",
			"alias":       "out",
			"rollback":    false,
		}
		res, out := runOne(t, map[string]any{
			"number":      "${{ freightMetadata('f1').build.number }}",
			"tag1":        "${{ freightMetadata('f1').build.tags[1] }}",
			"note":        "${{ freightMetadata(ctx.targetFreight.name).note }}",
			"statusNote":  "${{ freightStatus('f1').metadata.note }}",
			"noFreight":   "${{ freightMetadata('missing') == nil && freightStatus('missing') == nil }}",
			"noStageMeta": "${{ stageMetadata('prod') == nil }}",
			"slackOK":     "${{ sharedSecret('slack').token == 'xoxb-shared-1' }}",
			"region":      "${{ sharedConfigMap('settings').region }}",
			"noCM":        "${{ len(sharedConfigMap('missing')) == 0 && len(configMap('missing')) == 0 }}",
			"ownOK":       "${{ secret('own').token == 'shop-own-3' }}",
			"actor":       "${{ ctx.meta.promotion.actor }}",
			"ui":          "${{ ctx.uiBaseUrl }}",
			"alias":       "${{ ctx.meta.step.alias }}",
			"rollback":    "${{ ctx.meta.promotion.rollback }}",
		})
		if res.Phase != haulv1.PromotionSucceeded {
			t.Fatalf("%s: %s", res.Phase, res.Message)
		}
		for k, w := range want {
			if got := out[k]; got != w {
				t.Errorf("%s = %#v (%T), want %#v (%T)", k, got, got, w, w)
			}
		}
	})

	// The attacks: each names another project's Secret, or a Secret of the shared
	// namespace that is not a generic credential. None may return its value.
	attacks := []struct {
		name, expr, wantErr string
	}{
		{"another project's Secret by plain name reads the own namespace (empty)", "${{ secret('other-token').token }}", `secret("other-token").token is not defined`},
		{"another project's Secret by namespace/name", "${{ secret('other-team/other-token') }}", "read from the project's own namespace"},
		{"sharedSecret cannot leave the shared namespace", "${{ sharedSecret('other-team/other-token') }}", "read from the shared resources namespace"},
		{"sharedSecret refuses a non-generic Secret", "${{ sharedSecret('repo-creds') }}", "only Secrets labelled haul.dev/cred-type=generic"},
		{"sharedSecret refuses the shared git credentials", "${{ sharedSecret('git-creds').password }}", `sharedSecret("git-creds"): only Secrets labelled haul.dev/cred-type=generic`},
		{"sharedSecret of another project's Secret name reads the shared namespace (empty)", "${{ sharedSecret('other-token').token }}", `sharedSecret("other-token").token is not defined`},
		{"freightMetadata cannot name another namespace", "${{ freightMetadata('other-team/f1') }}", "project's own namespace"},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			res, out := runOne(t, map[string]any{"v": a.expr})
			mustFail(t, res, a.wantErr)
			for _, leaked := range []string{"other-team-secret-9", "shared-repo-pw", "shared-git-pw"} {
				if strings.Contains(res.Message, leaked) || strings.Contains(toJSON(t, out), leaked) {
					t.Fatalf("value of another tenant's Secret leaked: %q / %v", res.Message, out)
				}
			}
		})
	}

	// Scenario 23, decided as Kargo: a generic Secret of the shared namespace is
	// readable by every project (the "values" case above reads one); it is still a
	// secret, so its value is masked wherever the engine reports.
	t.Run("a shared generic Secret's value is masked in messages", func(t *testing.T) {
		res, _ := e.Run(ctx, promotion.Request{Project: shop, Stage: "prod", Promotion: "prod.02", WorkDir: t.TempDir(),
			Steps: []haulv1.PromotionStep{step("fail", "f", map[string]any{"message": "token is ${{ sharedSecret('slack').token }}"})}})
		mustFail(t, res, "token is ***")
		if strings.Contains(res.Message, "xoxb-shared-1") {
			t.Fatalf("message shows the shared secret: %s", res.Message)
		}
	})

	t.Run("without a shared namespace sharedSecret says so", func(t *testing.T) {
		e2 := &promotion.Engine{Registry: testSteps, Services: &promotion.Services{Kube: kube, Dynamic: dyn}}
		res, _ := e2.Run(ctx, promotion.Request{Project: shop, WorkDir: t.TempDir(),
			Steps: []haulv1.PromotionStep{step("compose-output", "out", map[string]any{"v": "${{ sharedSecret('slack') }}"})}})
		mustFail(t, res, "no shared resources namespace is configured")
	})
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
