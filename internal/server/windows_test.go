package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/promotion"
)

// setWindows gives project p's ProjectConfig promotion windows (JSON).
func setWindows(t *testing.T, p, windows string) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"promotionWindows":`+windows+`}}`))
	must(t, env.Client.Patch(context.Background(), &haulv1.ProjectConfig{ObjectMeta: metaName(p, p)}, patch))
}

// TestFreezeRefusesPromotionAndOverrideRecordsReason: inside a Deny window the API
// refuses a promotion with 409 naming the window and when it opens. An admin (who
// holds the override verb) giving a reason gets the Promotion, which records who and
// why; a promoter is refused even with a reason, through the API and by kubectl.
func TestFreezeRefusesPromotionAndOverrideRecordsReason(t *testing.T) {
	startServer(t)
	newProject(t, "fz")
	createYAML(t, pipelineYAML("fz"))
	setWindows(t, "fz", `[{"name":"christmas","kind":"Deny","dtstart":"20261224T000000Z","dtend":"20261227T000000Z"}]`)
	f := newFreight(t, "fz", "e0e0e0e0e0000000000000000000000000000000", "eager-eel", "1.0.0")
	setClock(t, time.Date(2026, 12, 25, 10, 0, 0, 0, time.UTC))
	promote := func(token, body string) (int, []byte) {
		return call(t, "POST", "/api/v1/projects/fz/stages/test/promote", token, "application/json", body)
	}
	promoter, admin := idToken(t, "promoter@fz.test"), idToken(t, "admin@fz.test")
	const closed = "promotion window closed until 2026-12-27T00:00:00Z (window christmas)"
	for who, tok := range map[string]string{"promoter": promoter, "admin": admin} {
		if code, b := promote(tok, `{"freight":"eager-eel"}`); code != http.StatusConflict || !strings.Contains(string(b), closed) {
			t.Fatalf("%s promoting in a freeze without a reason: %d %s", who, code, b)
		}
	}
	if code, b := promote(promoter, `{"freight":"eager-eel","overrideReason":"hotfix"}`); code != http.StatusForbidden || !strings.Contains(string(b), "override the promotion windows") {
		t.Fatalf("promoter overriding: %d %s", code, b)
	}
	c, err := env.Impersonate(oidcUser("promoter@fz.test"))
	must(t, err)
	forged := promotion.New(&haulv1.Stage{ObjectMeta: metaName("fz", "test")}, f.Name, "kubectl:"+oidcUser("promoter@fz.test"))
	forged.Annotations[haulv1.AnnotationWindowOverride] = "kubectl:" + oidcUser("promoter@fz.test") + ": hotfix"
	if err := c.Create(context.Background(), forged); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "needs verb override") {
		t.Fatalf("promoter creating an overriding Promotion with kubectl: %v", err)
	}

	code, b := promote(admin, `{"freight":"eager-eel","overrideReason":"  hotfix   for INC-42 "}`)
	var promo haulv1.Promotion
	if code != http.StatusCreated || json.Unmarshal(b, &promo) != nil {
		t.Fatalf("admin overriding with a reason: %d %s", code, b)
	}
	want := "api:" + oidcUser("admin@fz.test") + ": hotfix for INC-42"
	stored := &haulv1.Promotion{}
	must(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: "fz", Name: promo.Name}, stored))
	if got := stored.Annotations[haulv1.AnnotationWindowOverride]; got != want {
		t.Fatalf("recorded override = %q, want %q", got, want)
	}

	// After the freeze the same request needs no reason, and none is recorded.
	setClock(t, time.Date(2026, 12, 28, 10, 0, 0, 0, time.UTC))
	code, b = promote(promoter, `{"freight":"eager-eel","overrideReason":"not needed"}`)
	var after haulv1.Promotion
	if code != http.StatusCreated || json.Unmarshal(b, &after) != nil || after.Annotations[haulv1.AnnotationWindowOverride] != "" {
		t.Fatalf("promotion after the freeze: %d %s", code, b)
	}
}

// TestApplyRefusesUnparsableWindows: the REST API's apply refuses a ProjectConfig whose
// window cannot be parsed, naming the document, the field and the value, and applies
// nothing of the set.
func TestApplyRefusesUnparsableWindows(t *testing.T) {
	startServer(t)
	newProject(t, "aw")
	set := `
apiVersion: haul.dev/v1alpha1
kind: Warehouse
metadata: {name: w-windows, namespace: aw}
spec:
  subscriptions:
  - image: {repoURL: registry.example.com/app}
---
apiVersion: haul.dev/v1alpha1
kind: ProjectConfig
metadata: {name: aw, namespace: aw}
spec:
  promotionWindows:
  - {name: nights, kind: Deny, rrule: "FREQ=NIGHTLY", dtstart: "20260101T220000Z", dtend: "20260102T060000Z"}
`
	code, b := call(t, "POST", "/api/v1/apply", idToken(t, "admin@aw.test"), "application/yaml", set)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(b), `document 2 (ProjectConfig aw): spec.promotionWindows[0].rrule \"FREQ=NIGHTLY\"`) {
		t.Fatalf("apply with a bad rrule: %d %s", code, b)
	}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: "aw", Name: "w-windows"}, &haulv1.Warehouse{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("the Warehouse of a refused set was applied: %v", err)
	}
}
