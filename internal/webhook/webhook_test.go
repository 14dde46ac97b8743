package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
	"github.com/haul-dev/haul/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// Fuzzing runs only the parser targets; don't start an API server per fuzz worker.
	if testenv.Fuzzing() {
		os.Exit(m.Run())
	}
	os.Exit(testenv.Run(m, &env))
}

const secretValue = "s3cret-value"

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secretValue))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func ref() *haulv1.WebhookProvider {
	return &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "hook-secret"}}
}

// setup creates a project namespace with one receiver per provider and three Warehouses.
func setup(t *testing.T, project string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	env.Namespace(t, project)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "hook-secret"}, StringData: map[string]string{"secret": secretValue}}
	pc := &haulv1.ProjectConfig{
		ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project},
		Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
			{Name: "gh", GitHub: ref()}, {Name: "gl", GitLab: ref()}, {Name: "dh", DockerHub: ref()},
			{Name: "quay", Quay: ref()}, {Name: "harbor", Harbor: ref()}, {Name: "generic", Generic: &haulv1.GenericWebhookProvider{SecretRef: ref().SecretRef}},
		}},
	}
	whs := []*haulv1.Warehouse{
		{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "git"}, Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{
			{Git: &haulv1.GitSubscription{RepoURL: "https://github.com/acme/app.git"}},
		}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "images"}, Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{
			{Image: &haulv1.ImageSubscription{RepoURL: "nginx"}},
			{Image: &haulv1.ImageSubscription{RepoURL: "quay.io/acme/api"}},
			{Image: &haulv1.ImageSubscription{RepoURL: "harbor.example.com/proj/web"}},
		}}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "other"}, Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{
			{Git: &haulv1.GitSubscription{RepoURL: "https://gitlab.com/acme/other.git"}},
		}}},
	}
	for _, o := range append([]client.Object{sec, pc}, whs[0], whs[1], whs[2]) {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv.Close)
	return srv
}

func refreshValue(t *testing.T, ns, name string) string {
	t.Helper()
	wh := &haulv1.Warehouse{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wh); err != nil {
		t.Fatal(err)
	}
	return wh.Annotations[haulv1.AnnotationRefresh]
}

func post(t *testing.T, url string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReceivers(t *testing.T) {
	const p = "hooks"
	srv := setup(t, p)
	ghPush := []byte(`{"ref":"refs/heads/main","repository":{"html_url":"https://github.com/Acme/App","clone_url":"https://github.com/Acme/App.git"}}`)
	ghPkg := []byte(`{"action":"published","registry_package":{"package_version":{"package_url":"ghcr.io/acme/x:1"}},"repository":{"html_url":"https://github.com/acme/app"}}`)
	glPush := []byte(`{"object_kind":"push","project":{"git_http_url":"https://gitlab.com/acme/other.git","web_url":"https://gitlab.com/acme/other"}}`)
	dh := []byte(`{"push_data":{"tag":"1.25"},"repository":{"repo_name":"library/nginx"}}`)
	quay := []byte(`{"repository":"acme/api","docker_url":"quay.io/acme/api","updated_tags":["1"]}`)
	harbor := []byte(`{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"resource_url":"harbor.example.com/proj/web:v2","tag":"v2"}]}}`)
	generic := []byte(`{"repoURL":"git@github.com:acme/app.git"}`)
	tests := map[string]struct {
		receiver string
		body     []byte
		headers  map[string]string
		query    string
		code     int
		want     []string // Warehouses that must be refreshed
	}{
		"github push":            {"gh", ghPush, map[string]string{"X-Hub-Signature-256": sign(ghPush), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d1"}, "", 200, []string{"git"}},
		"github package":         {"gh", ghPkg, map[string]string{"X-Hub-Signature-256": sign(ghPkg), "X-GitHub-Event": "registry_package"}, "", 200, []string{"git"}},
		"github replay":          {"gh", ghPush, map[string]string{"X-Hub-Signature-256": sign(ghPush), "X-GitHub-Event": "push", "X-GitHub-Delivery": "d1"}, "", 400, nil},
		"github ping":            {"gh", []byte(`{"zen":"x"}`), map[string]string{"X-Hub-Signature-256": sign([]byte(`{"zen":"x"}`)), "X-GitHub-Event": "ping"}, "", 200, nil},
		"github wrong event":     {"gh", ghPush, map[string]string{"X-Hub-Signature-256": sign(ghPush), "X-GitHub-Event": "issues"}, "", 400, nil},
		"github bad signature":   {"gh", ghPush, map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64), "X-GitHub-Event": "push"}, "", 401, nil},
		"github no signature":    {"gh", ghPush, map[string]string{"X-GitHub-Event": "push"}, "", 401, nil},
		"github null repository": {"gh", []byte(`{"repository":null}`), map[string]string{"X-Hub-Signature-256": sign([]byte(`{"repository":null}`)), "X-GitHub-Event": "push"}, "", 400, nil},
		"github not json":        {"gh", []byte(`not json`), map[string]string{"X-Hub-Signature-256": sign([]byte(`not json`)), "X-GitHub-Event": "push"}, "", 400, nil},
		"gitlab push":            {"gl", glPush, map[string]string{"X-Gitlab-Token": secretValue, "X-Gitlab-Event": "Push Hook"}, "", 200, []string{"other"}},
		"gitlab bad token":       {"gl", glPush, map[string]string{"X-Gitlab-Token": "nope", "X-Gitlab-Event": "Push Hook"}, "", 401, nil},
		"dockerhub query token":  {"dh", dh, nil, "?token=" + secretValue, 200, []string{"images"}},
		"dockerhub bad token":    {"dh", dh, nil, "?token=wrong", 401, nil},
		"quay bearer":            {"quay", quay, map[string]string{"Authorization": "Bearer " + secretValue}, "", 200, []string{"images"}},
		"harbor auth header":     {"harbor", harbor, map[string]string{"Authorization": secretValue}, "", 200, []string{"images"}},
		"harbor missing fields":  {"harbor", []byte(`{"event_data":{"resources":[null]}}`), map[string]string{"Authorization": secretValue}, "", 400, nil},
		"generic":                {"generic", generic, map[string]string{SignatureHeader: sign(generic)}, "", 200, []string{"git"}},
		"generic bad signature":  {"generic", generic, map[string]string{SignatureHeader: "sha256=abc"}, "", 401, nil},
		"generic no url":         {"generic", []byte(`{}`), map[string]string{SignatureHeader: sign([]byte(`{}`))}, "", 400, nil},
		"unknown receiver":       {"nope", generic, map[string]string{SignatureHeader: sign(generic)}, "", 404, nil},
	}
	order := []string{"github push", "github replay"} // the replay must follow the first delivery
	for name := range tests {
		if name != "github push" && name != "github replay" {
			order = append(order, name)
		}
	}
	for _, name := range order {
		tt := tests[name]
		t.Run(name, func(t *testing.T) {
			before := map[string]string{}
			for _, w := range []string{"git", "images", "other"} {
				before[w] = refreshValue(t, p, w)
			}
			time.Sleep(2 * time.Millisecond) // refresh values carry nanoseconds; keep them distinct
			code, body := post(t, srv.URL+"/webhooks/"+p+"/"+tt.receiver+tt.query, tt.body, tt.headers)
			if code != tt.code {
				t.Fatalf("status %d (%s), want %d", code, body, tt.code)
			}
			want := map[string]bool{}
			for _, w := range tt.want {
				want[w] = true
			}
			for _, w := range []string{"git", "images", "other"} {
				changed := refreshValue(t, p, w) != before[w]
				if changed != want[w] {
					t.Errorf("Warehouse %s refreshed=%v, want %v", w, changed, want[w])
				}
			}
			if strings.Contains(body, secretValue) {
				t.Errorf("response leaks the secret: %s", body)
			}
		})
	}
}

func TestBodyLimitBeforeSignature(t *testing.T) {
	const p = "hooks-big"
	srv := setup(t, p)
	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)
	// Declared length over the cap.
	code, _ := post(t, srv.URL+"/webhooks/"+p+"/gh", big, map[string]string{"X-Hub-Signature-256": sign(big), "X-GitHub-Event": "push"})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", code)
	}
	// Chunked upload with no declared length, correctly signed: still refused.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/"+p+"/gh", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-Hub-Signature-256", sign(big))
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d, want 413", resp.StatusCode)
	}
	if v := refreshValue(t, p, "git"); v != "" {
		t.Fatalf("refreshed by an oversized body: %s", v)
	}
	if code, _ := post(t, srv.URL+"/webhooks/"+p+"/gh", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("empty unsigned body: %d", code)
	}
	resp, err = http.Get(srv.URL + "/webhooks/" + p + "/gh")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}
