package warehouse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
	"github.com/haul-dev/haul/warehouse"
)

// TestPrivateRepositoriesUseProjectCredentials: discovery of a private registry and a
// private Git server uses the project's credential Secrets, and no password reaches
// Warehouse status, an Event, Freight or the controller's log, both while wrong
// credentials are sent (the registry echoing them in its 401 body) and after the
// corrected ones have been used. The servers record what they received, so the
// checks run only after the Secrets were really used.
func TestPrivateRepositoriesUseProjectCredentials(t *testing.T) {
	ns := env.Namespace(t, "wh-creds")
	reg := startRegistry(t)
	push(t, reg, "private", "1.0.0")
	var mu sync.Mutex
	registrySaw := map[string]bool{} // passwords the registry received
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if ok {
				mu.Lock()
				registrySaw[p] = true
				mu.Unlock()
			}
			if !ok || u != "robot" || p != "registry-pass" {
				// Like registries seen in the wild, echo what the client sent.
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized: "+r.Header.Get("Authorization")+" password "+p, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	g, err := testservers.StartGitServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	sha, err := g.SeedRepo("private", map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	g.Username, g.Password = "bot", "git-pass"

	// Credentials exist but are wrong.
	secrets := []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "registry", Labels: map[string]string{haulv1.LabelCredType: "image"}},
			StringData: map[string]string{"repoURL": reg.Repo("private"), "username": "robot", "password": "wrong-registry-pass"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "git", Labels: map[string]string{haulv1.LabelCredType: "git"}},
			StringData: map[string]string{"repoURL": `^http://127\.0\.0\.1:[0-9]+/.*`, "repoURLIsRegex": "true", "username": "bot", "password": "wrong-git-pass"}},
	}
	for _, s := range secrets {
		if err := env.Client.Create(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	// "registry-pass" and "git-pass" are inside the wrong passwords too, so each leak
	// check covers both the wrong and the right ones.
	leaks := []string{"registry-pass", "git-pass",
		base64.StdEncoding.EncodeToString([]byte("robot:wrong-registry-pass")), base64.StdEncoding.EncodeToString([]byte("robot:registry-pass")),
		base64.StdEncoding.EncodeToString([]byte("bot:wrong-git-pass")), base64.StdEncoding.EncodeToString([]byte("bot:git-pass"))}
	logs := startLoggedController(t, ns, warehouse.Options{})
	createWarehouse(t, ns, "private", time.Hour,
		imageSub(reg.Repo("private")),
		haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("private")}})
	eventually(t, 30*time.Second, "an authentication failure", func() bool {
		c := condition(getWarehouse(t, ns, "private"), haulv1.ConditionReady)
		return c != nil && c.Reason == haulv1.ReasonDiscoveryFailed && strings.Contains(c.Message, "401")
	})
	mu.Lock()
	sawWrong := registrySaw["wrong-registry-pass"]
	mu.Unlock()
	if !sawWrong {
		t.Fatal("the registry never received the project's (wrong) credentials")
	}
	failure := waitForEvent(t, ns, "private", haulv1.ReasonDiscoveryFailed)
	if failure.Type != corev1.EventTypeWarning || !strings.Contains(failure.Message, "401") {
		t.Fatalf("DiscoveryFailed event: %s %q", failure.Type, failure.Message)
	}
	eventually(t, 30*time.Second, "the failed reconcile to be logged", func() bool { return strings.Contains(logs.String(), "401") })
	checkNoLeak(t, ns, logs, leaks)

	for _, s := range secrets {
		s.Data["password"] = []byte(strings.TrimPrefix(string(s.Data["password"]), "wrong-"))
		if err := env.Client.Update(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	refresh(t, ns, "private")
	eventually(t, 60*time.Second, "Freight from private repositories", func() bool { return len(listFreight(t, ns)) == 1 })
	if f := listFreight(t, ns)[0]; f.Commits[0].ID != sha || len(f.Images) != 1 {
		t.Fatalf("unexpected Freight %+v", f)
	}
	mu.Lock()
	sawRight := registrySaw["registry-pass"]
	mu.Unlock()
	if !sawRight {
		t.Fatal("the registry never received the corrected credentials")
	}
	waitForEvent(t, ns, "private", haulv1.ReasonFreightCreated)
	checkNoLeak(t, ns, logs, leaks)
}

// waitForEvent waits for an Event with reason on the Warehouse name.
func waitForEvent(t *testing.T, ns, name, reason string) corev1.Event {
	t.Helper()
	var found corev1.Event
	eventually(t, 30*time.Second, "a "+reason+" event", func() bool {
		var evs corev1.EventList
		_ = env.Client.List(context.Background(), &evs, client.InNamespace(ns))
		for _, e := range evs.Items {
			if e.Reason == reason && e.InvolvedObject.Name == name {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// checkNoLeak fails if a leak appears in any Warehouse's status, an Event, a Freight
// of ns, or the controller's log.
func checkNoLeak(t *testing.T, ns string, logs *logBuffer, leaks []string) {
	t.Helper()
	ctx := context.Background()
	texts := map[string]string{"controller log": logs.String()}
	var whs haulv1.WarehouseList
	_ = env.Client.List(ctx, &whs, client.InNamespace(ns))
	for _, w := range whs.Items {
		b, _ := json.Marshal(w.Status)
		texts["Warehouse "+w.Name+" status"] = string(b)
	}
	var evs corev1.EventList
	_ = env.Client.List(ctx, &evs, client.InNamespace(ns))
	for _, e := range evs.Items {
		texts["Event "+e.Reason] += e.Message + "\n"
	}
	for _, f := range listFreight(t, ns) {
		b, _ := json.Marshal(f)
		texts["Freight "+f.Name] = string(b)
	}
	for where, text := range texts {
		for _, leak := range leaks {
			if strings.Contains(text, leak) {
				t.Errorf("%s shows %q:\n%s", where, leak, text)
			}
		}
	}
}
