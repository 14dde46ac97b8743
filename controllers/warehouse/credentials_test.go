package warehouse

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testservers"
)

func TestPrivateRepositoriesUseProjectCredentials(t *testing.T) {
	ns := env.Namespace(t, "wh-creds")
	reg := startRegistry(t)
	push(t, reg, "private", "1.0.0")
	reg.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "registry-pass" {
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

	// Credentials exist but are wrong: the failure must name neither password, in the
	// condition or in an Event, even though the registry echoes what it was sent.
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
	leaks := []string{"wrong-registry-pass", "wrong-git-pass", base64.StdEncoding.EncodeToString([]byte("robot:wrong-registry-pass"))}
	startController(t, ns, Options{})
	createWarehouse(t, ns, "private", time.Hour,
		imageSub(reg.Repo("private")),
		haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("private")}})
	eventually(t, 30*time.Second, "an authentication failure", func() bool {
		c := condition(getWarehouse(t, ns, "private"), haulv1.ConditionReady)
		return c != nil && c.Reason == haulv1.ReasonDiscoveryFailed
	})
	if msg := condition(getWarehouse(t, ns, "private"), haulv1.ConditionReady).Message; containsAny(msg, leaks...) {
		t.Fatalf("condition leaks a secret: %s", msg)
	}
	var evs corev1.EventList
	_ = env.Client.List(context.Background(), &evs, client.InNamespace(ns))
	for _, e := range evs.Items {
		if containsAny(e.Message, leaks...) {
			t.Fatalf("event %s leaks a secret: %s", e.Reason, e.Message)
		}
	}
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
	eventually(t, 30*time.Second, "a FreightCreated event", func() bool {
		var evs corev1.EventList
		_ = env.Client.List(context.Background(), &evs, client.InNamespace(ns))
		for _, e := range evs.Items {
			if e.Reason == haulv1.ReasonFreightCreated && e.InvolvedObject.Name == "private" {
				return true
			}
		}
		return false
	})
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
