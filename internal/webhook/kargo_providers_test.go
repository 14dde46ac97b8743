package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// setupKargoProviders creates a project with one receiver for each provider Kargo has
// that Haul added later (gitea, bitbucket, artifactory, azure) and a Warehouse for each.
func setupKargoProviders(t *testing.T, project string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	env.Namespace(t, project)
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "hook-secret"}, StringData: map[string]string{"secret": secretValue}},
		// Kargo's Artifactory receiver reads the key secret-token; such a Secret works unchanged.
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "jfrog"}, StringData: map[string]string{"secret-token": secretValue}},
		&haulv1.ProjectConfig{
			ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project},
			Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
				{Name: "gitea", Gitea: ref()}, {Name: "bb", Bitbucket: ref()}, {Name: "azure", Azure: ref()},
				{Name: "jfrog", Artifactory: &haulv1.ArtifactoryWebhookProvider{SecretRef: haulv1.SecretRef{Name: "jfrog"}}},
				{Name: "jfrog-virtual", Artifactory: &haulv1.ArtifactoryWebhookProvider{SecretRef: haulv1.SecretRef{Name: "jfrog"}, VirtualRepoName: "docker-virtual"}},
			}},
		},
	}
	whs := map[string]haulv1.RepoSubscription{
		"gitea":     {Git: &haulv1.GitSubscription{RepoURL: "https://gitea.example.com/acme/app.git"}},
		"bitbucket": {Git: &haulv1.GitSubscription{RepoURL: "https://bitbucket.org/acme/svc.git"}},
		"bbserver":  {Git: &haulv1.GitSubscription{RepoURL: "https://bitbucket.acme.internal/scm/proj/deploy.git"}},
		"jfrog":     {Image: &haulv1.ImageSubscription{RepoURL: "acme.jfrog.io/docker-local/team/api"}},
		"jfrogv":    {Image: &haulv1.ImageSubscription{RepoURL: "acme.jfrog.io/docker-virtual/team/api"}},
		"acr":       {Image: &haulv1.ImageSubscription{RepoURL: "acmereg.azurecr.io/team/web"}},
		"devops":    {Git: &haulv1.GitSubscription{RepoURL: "https://dev.azure.com/acme/proj/_git/deploy"}},
	}
	for name, sub := range whs {
		objs = append(objs, &haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: name},
			Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{sub}}})
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv.Close)
	return srv
}

func hexHMAC(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestKargoProviderReceivers posts each new provider's payload, in the shape the service
// sends it, once correctly authenticated and once forged (signed with another key, a
// signature for another body, a wrong token), and checks which Warehouses were refreshed.
func TestKargoProviderReceivers(t *testing.T) {
	const p = "hooks-kargo"
	srv := setupKargoProviders(t, p)
	giteaPush := []byte(`{"ref":"refs/heads/main","repository":{"clone_url":"https://gitea.example.com/acme/app.git","html_url":"https://gitea.example.com/acme/app"},"commits":[],"total_commits":0}`)
	bbCloud := []byte(`{"push":{"changes":[{"new":{"type":"branch","name":"main"}}]},"repository":{"links":{"html":{"href":"https://bitbucket.org/acme/svc"}}}}`)
	bbServer := []byte(`{"changes":[{"ref":{"id":"refs/heads/main"}}],"repository":{"links":{"clone":[{"href":"ssh://git@bitbucket.acme.internal:7999/proj/deploy.git","name":"ssh"},{"href":"https://bitbucket.acme.internal/scm/proj/deploy.git","name":"http"}]}}}`)
	jfrog := []byte(`{"domain":"docker","event_type":"pushed","jpd_origin":"https://acme.jfrog.io","data":{"path":"team/api/1.4.0/manifest.json","repo_key":"docker-local","image_name":"team/api","image_type":"docker","tag":"1.4.0"}}`)
	jfrogDeleted := []byte(`{"domain":"docker","event_type":"deleted","jpd_origin":"https://acme.jfrog.io","data":{"path":"team/api/1.4.0/manifest.json","repo_key":"docker-local","image_type":"docker"}}`)
	acrPush := []byte(`{"id":"1","action":"push","target":{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","repository":"team/web","tag":"2.0.0"},"request":{"host":"acmereg.azurecr.io"}}`)
	acrPing := []byte(`{"id":"2","action":"ping","target":{},"request":{"host":"acmereg.azurecr.io"}}`)
	devopsPush := []byte(`{"eventType":"git.push","resource":{"refUpdates":[{"name":"refs/heads/main"}],"repository":{"remoteUrl":"https://dev.azure.com/acme/proj/_git/deploy"}}}`)
	devopsPR := []byte(`{"eventType":"git.pullrequest.merged","resource":{"status":"completed"}}`)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("kargo:"+secretValue))
	all := []string{"gitea", "bitbucket", "bbserver", "jfrog", "jfrogv", "acr", "devops"}
	tests := []struct {
		name     string
		receiver string
		body     []byte
		headers  map[string]string
		code     int
		want     []string
	}{
		{"gitea push", "gitea", giteaPush, map[string]string{"X-Gitea-Event": "push", "X-Hub-Signature-256": sign(giteaPush)}, 200, []string{"gitea"}},
		{"gitea forged: signed with another key", "gitea", giteaPush, map[string]string{"X-Gitea-Event": "push", "X-Hub-Signature-256": "sha256=" + hexHMAC("guess", giteaPush)}, 401, nil},
		{"gitea forged: signature of another body", "gitea", giteaPush, map[string]string{"X-Gitea-Event": "push", "X-Hub-Signature-256": sign(bbCloud)}, 401, nil},
		{"gitea unsigned", "gitea", giteaPush, map[string]string{"X-Gitea-Event": "push"}, 401, nil},
		{"bitbucket cloud push", "bb", bbCloud, map[string]string{"X-Event-Key": "repo:push", "X-Hub-Signature": sign(bbCloud)}, 200, []string{"bitbucket"}},
		{"bitbucket data center refs_changed", "bb", bbServer, map[string]string{"X-Event-Key": "repo:refs_changed", "X-Hub-Signature": sign(bbServer)}, 200, []string{"bbserver"}},
		{"bitbucket forged", "bb", bbCloud, map[string]string{"X-Event-Key": "repo:push", "X-Hub-Signature": "sha256=" + hexHMAC("guess", bbCloud)}, 401, nil},
		{"bitbucket GitHub's header is not Bitbucket's", "bb", bbCloud, map[string]string{"X-Event-Key": "repo:push", "X-Hub-Signature-256": sign(bbCloud)}, 401, nil},
		{"bitbucket unknown event", "bb", bbCloud, map[string]string{"X-Event-Key": "issue:created", "X-Hub-Signature": sign(bbCloud)}, 400, nil},
		{"artifactory pushed (secret-token key)", "jfrog", jfrog, map[string]string{"X-Jfrog-Event-Auth": hexHMAC(secretValue, jfrog)}, 200, []string{"jfrog"}},
		{"artifactory virtual repository", "jfrog-virtual", jfrog, map[string]string{"X-Jfrog-Event-Auth": hexHMAC(secretValue, jfrog)}, 200, []string{"jfrogv"}},
		{"artifactory forged", "jfrog", jfrog, map[string]string{"X-Jfrog-Event-Auth": hexHMAC("guess", jfrog)}, 401, nil},
		{"artifactory sha256= prefix is not Artifactory's", "jfrog", jfrog, map[string]string{"X-Jfrog-Event-Auth": sign(jfrog)}, 401, nil},
		{"artifactory deleted event", "jfrog", jfrogDeleted, map[string]string{"X-Jfrog-Event-Auth": hexHMAC(secretValue, jfrogDeleted)}, 400, nil},
		{"acr push, bearer token", "azure", acrPush, map[string]string{"Authorization": "Bearer " + secretValue}, 200, []string{"acr"}},
		{"acr ping", "azure", acrPing, map[string]string{"Authorization": "Bearer " + secretValue}, 200, nil},
		{"acr forged token", "azure", acrPush, map[string]string{"Authorization": "Bearer " + secretValue + "x"}, 401, nil},
		{"acr no token", "azure", acrPush, nil, 401, nil},
		{"azure devops push, basic auth", "azure", devopsPush, map[string]string{"Authorization": basic}, 200, []string{"devops"}},
		{"azure devops forged basic auth", "azure", devopsPush, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(secretValue+":wrong"))}, 401, nil},
		// A pull request event goes to the waiting Promotions (pullrequests_test.go); one
		// that names no pull request is refused, and refreshes nothing.
		{"azure devops pull request without its id", "azure", devopsPR, map[string]string{"Authorization": basic}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := map[string]string{}
			for _, w := range all {
				before[w] = refreshValue(t, p, w)
			}
			time.Sleep(2 * time.Millisecond)
			code, body := post(t, srv.URL+"/webhooks/"+p+"/"+tt.receiver, tt.body, tt.headers)
			if code != tt.code {
				t.Fatalf("status %d (%s), want %d", code, body, tt.code)
			}
			want := map[string]bool{}
			for _, w := range tt.want {
				want[w] = true
			}
			for _, w := range all {
				if changed := refreshValue(t, p, w) != before[w]; changed != want[w] {
					t.Errorf("Warehouse %s refreshed=%v, want %v", w, changed, want[w])
				}
			}
			if strings.Contains(body, secretValue) {
				t.Errorf("response leaks the secret: %s", body)
			}
		})
	}
	// The azure token also works in the query, as for Docker Hub.
	if code, body := post(t, srv.URL+"/webhooks/"+p+"/azure?token="+secretValue, acrPush, nil); code != 200 {
		t.Fatalf("azure query token: %d %s", code, body)
	}
}

// TestKargoProviderBodyLimit: every new receiver refuses a body over the cap, correctly
// signed, before reading its signature, and refreshes nothing.
func TestKargoProviderBodyLimit(t *testing.T) {
	const p = "hooks-kargo-big"
	srv := setupKargoProviders(t, p)
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	for recv, h := range map[string]map[string]string{
		"gitea": {"X-Gitea-Event": "push", "X-Hub-Signature-256": sign(big)},
		"bb":    {"X-Event-Key": "repo:push", "X-Hub-Signature": sign(big)},
		"jfrog": {"X-Jfrog-Event-Auth": hexHMAC(secretValue, big)},
		"azure": {"Authorization": "Bearer " + secretValue},
	} {
		if code, _ := post(t, srv.URL+"/webhooks/"+p+"/"+recv, big, h); code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: status %d, want 413", recv, code)
		}
	}
	for _, w := range []string{"gitea", "bitbucket", "jfrog", "acr"} {
		if v := refreshValue(t, p, w); v != "" {
			t.Errorf("Warehouse %s refreshed by an oversized body", w)
		}
	}
}
