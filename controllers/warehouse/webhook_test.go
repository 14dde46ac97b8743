package warehouse

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/webhook"
)

// TestGitHubWebhookCreatesFreight drives the whole path a user sees: a push to a Git
// repository, GitHub's signed push webhook, and new Freight in the API server.
func TestGitHubWebhookCreatesFreight(t *testing.T) {
	ns := env.Namespace(t, "wh-webhook")
	ctx := context.Background()
	g := startGitServer(t)
	if _, err := g.SeedRepo("site", map[string]string{"index.html": "v1"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "gh"}, StringData: map[string]string{"secret": "hunter2"}},
		&haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ns}, Spec: haulv1.ProjectConfigSpec{
			WebhookReceivers: []haulv1.WebhookReceiver{{Name: "github", GitHub: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "gh"}}}},
		}},
	} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	startController(t, ns, Options{})
	createWarehouse(t, ns, "site", time.Hour, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: g.RepoURL("site")}})
	eventually(t, 30*time.Second, "the first Freight", func() bool { return len(listFreight(t, ns)) == 1 })

	sha, err := g.Commit("site", "main", map[string]string{"index.html": "v2"}, "second version")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(webhook.NewHandler(env.Client))
	defer srv.Close()
	// GitHub reports the repository under its browser URL, without ".git".
	body := []byte(`{"ref":"refs/heads/main","after":"` + sha + `","repository":{"html_url":"` + g.URL + `/site"}}`)
	m := hmac.New(sha256.New, []byte("hunter2"))
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/"+ns+"/github", bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	req.Header.Set("X-GitHub-Event", "push")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	eventually(t, 30*time.Second, "Freight for the pushed commit", func() bool {
		for _, f := range listFreight(t, ns) {
			if f.Commits[0].ID == sha {
				return true
			}
		}
		return false
	})
	t.Logf("webhook → Freight in %s", time.Since(start))
}
