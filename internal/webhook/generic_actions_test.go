package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

// genericReceiver is a generic receiver named name with the given actions.
func genericReceiver(name string, actions ...haulv1.GenericWebhookAction) haulv1.WebhookReceiver {
	return haulv1.WebhookReceiver{Name: name, Generic: &haulv1.GenericWebhookProvider{
		SecretRef: haulv1.SecretRef{Name: "hook-secret"}, Actions: actions}}
}

func refreshAction(when string, criteria ...haulv1.GenericWebhookTargetSelectionCriteria) haulv1.GenericWebhookAction {
	return haulv1.GenericWebhookAction{Action: haulv1.GenericWebhookActionRefresh, WhenExpression: when, TargetSelectionCriteria: criteria}
}

// genericProject creates a project with a Secret, the given receivers, the Warehouses
// app (Git github.com/acme/app, labels env=prod service=api), ui (image
// ghcr.io/acme/ui, labels env=prod service=ui) and other (Git gitlab.com/acme/other,
// env=dev), and a Running Promotion p1 waiting on a pull request.
func genericProject(t *testing.T, project string, receivers ...haulv1.WebhookReceiver) {
	t.Helper()
	ctx := context.Background()
	env.Namespace(t, project)
	objs := []client.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "hook-secret"}, StringData: map[string]string{"secret": secretValue}},
		&haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: project},
			Spec: haulv1.ProjectConfigSpec{WebhookReceivers: receivers}},
		&haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "app", Labels: map[string]string{"env": "prod", "service": "api"}},
			Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Git: &haulv1.GitSubscription{RepoURL: "https://github.com/acme/app.git"}}}}},
		&haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "ui", Labels: map[string]string{"env": "prod", "service": "ui"}},
			Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/acme/ui"}}}}},
		&haulv1.Warehouse{ObjectMeta: metav1.ObjectMeta{Namespace: project, Name: "other", Labels: map[string]string{"env": "dev"}},
			Spec: haulv1.WarehouseSpec{Subscriptions: []haulv1.RepoSubscription{{Git: &haulv1.GitSubscription{RepoURL: "https://gitlab.com/acme/other.git"}}}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	waitingPromotion(t, project, "p1", "https://github.com/acme/app/pull/1", 1)
}

// refreshes snapshots the haul.dev/refresh value of every Warehouse and Promotion of
// the namespaces, keyed Kind/namespace/name.
func refreshes(t *testing.T, namespaces ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, ns := range namespaces {
		var whs haulv1.WarehouseList
		var ps haulv1.PromotionList
		if err := env.Client.List(ctx, &whs, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		if err := env.Client.List(ctx, &ps, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, w := range whs.Items {
			out["Warehouse/"+ns+"/"+w.Name] = w.Annotations[haulv1.AnnotationRefresh]
		}
		for _, p := range ps.Items {
			out["Promotion/"+ns+"/"+p.Name] = p.Annotations[haulv1.AnnotationRefresh]
		}
	}
	return out
}

// changed lists what got a new refresh value between two snapshots, sorted.
func changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if before[k] != v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

type decodedResults struct {
	Results []struct {
		Action                string `json:"action"`
		MatchedWhenExpression bool   `json:"matchedWhenExpression"`
		Result                string `json:"result"`
		Summary               string `json:"summary"`
		SelectedTargets       []struct {
			Kind, Namespace, Name string
			Success               bool
		} `json:"selectedTargets"`
	} `json:"results"`
}

// postGeneric posts body, signed, to a receiver and returns what changed in namespaces.
func postGeneric(t *testing.T, url string, body []byte, headers map[string]string, namespaces ...string) (int, decodedResults, []string) {
	t.Helper()
	before := refreshes(t, namespaces...)
	time.Sleep(2 * time.Millisecond)
	h := map[string]string{SignatureHeader: sign(body)}
	for k, v := range headers {
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	code, resp := post(t, url, body, h)
	if strings.Contains(resp, secretValue) {
		t.Errorf("response leaks the secret: %s", resp)
	}
	var out decodedResults
	_ = json.Unmarshal([]byte(resp), &out)
	return code, out, changed(before, refreshes(t, namespaces...))
}

// TestGenericActionsSelectAndRefresh runs Kargo's generic receiver actions against a
// real API server: selection by name (a ${{ }} template over the body), by labels (a
// templated matchLabels value, a matchExpressions In), by the subscribedURLs index
// (normalizeGit of the body's URL, Equals and NotEquals), criteria ANDed, a Promotion
// woken by name, a whenExpression that does not hold (200, nothing done), one that
// fails (500, nothing done), and a body that is not JSON (400).
func TestGenericActionsSelectAndRefresh(t *testing.T) {
	const p = "gen-select"
	push := "request.header('X-Event-Type') == 'push'"
	genericProject(t, p,
		genericReceiver("by-name", refreshAction(push, haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", Name: "${{ request.body.warehouse }}"})),
		genericReceiver("by-label",
			refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"service": "${{ request.body.service }}"}}}),
			refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"dev", "qa"}}}}})),
		genericReceiver("by-index", refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", IndexSelector: &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{
			{Key: "subscribedURLs", Operator: haulv1.IndexSelectorEquals, Value: "${{ normalizeGit(request.body.repository.url) }}"}}}})),
		genericReceiver("not-index", refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse",
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			IndexSelector: &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{{Key: "subscribedURLs", Operator: haulv1.IndexSelectorNotEquals, Value: "https://github.com/acme/app"}}}})),
		genericReceiver("promotion", refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Promotion", Name: "${{ request.body.promotion }}"})),
		genericReceiver("failing",
			refreshAction("request.body.n > 1", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", Name: "app"}),
			refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", Name: "${{ request.body.count }}"})),
	)
	srv := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv.Close)
	url := srv.URL + "/webhooks/" + p + "/"
	tests := []struct {
		name, receiver, body string
		headers              map[string]string
		code                 int
		results              []string // each action's result
		want                 []string
	}{
		{"by name", "by-name", `{"warehouse":"ui"}`, map[string]string{"X-Event-Type": "push"}, 200, []string{"Success"}, []string{"Warehouse/" + p + "/ui"}},
		{"whenExpression false", "by-name", `{"warehouse":"ui"}`, map[string]string{"X-Event-Type": "ping"}, 200, []string{"NotApplicable"}, nil},
		{"name of nothing", "by-name", `{"warehouse":"nope"}`, map[string]string{"X-Event-Type": "push"}, 200, []string{"Success"}, nil},
		{"labels", "by-label", `{"service":"api"}`, nil, 200, []string{"Success", "Success"}, []string{"Warehouse/" + p + "/app", "Warehouse/" + p + "/other"}},
		{"index", "by-index", `{"repository":{"url":"git@github.com:Acme/App.git"}}`, nil, 200, []string{"Success"}, []string{"Warehouse/" + p + "/app"}},
		{"labels AND not index", "not-index", `{}`, nil, 200, []string{"Success"}, []string{"Warehouse/" + p + "/ui"}},
		{"promotion", "promotion", `{"promotion":"p1"}`, nil, 200, []string{"Success"}, []string{"Promotion/" + p + "/p1"}},
		{"failing expressions", "failing", `{"n":"three","count":3}`, nil, 500, []string{"Error", "Error"}, nil},
		{"not json", "by-name", `{not json`, map[string]string{"X-Event-Type": "push"}, 400, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res, got := postGeneric(t, url+tt.receiver, []byte(tt.body), tt.headers, p)
			if code != tt.code {
				t.Fatalf("status %d, want %d (%+v)", code, tt.code, res)
			}
			var results []string
			for _, r := range res.Results {
				results = append(results, r.Result)
			}
			if !slices.Equal(results, tt.results) {
				t.Errorf("results %v, want %v (%+v)", results, tt.results, res)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("refreshed %v, want %v", got, tt.want)
			}
		})
	}
}

// TestGenericActionsStayInTheirProject attacks tenant isolation: project gen-victim has
// Warehouses and a Promotion of the same names and labels as gen-attacker's; requests
// to gen-attacker's receiver that name the victim's objects (namespace/name, a path
// with "..", a name with "/"), or whose label selector and index would match them too,
// touch nothing in gen-victim.
func TestGenericActionsStayInTheirProject(t *testing.T) {
	const attacker, victim = "gen-attacker", "gen-victim"
	any := haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", Name: "${{ request.body.name }}"}
	genericProject(t, attacker, genericReceiver("ci",
		refreshAction("", any),
		refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Promotion", Name: "${{ request.body.name }}"}),
		refreshAction("request.body.label != nil", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "${{ request.body.label }}"}}}),
		refreshAction("request.body.url != nil", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", IndexSelector: &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{
			{Key: "subscribedURLs", Operator: haulv1.IndexSelectorEquals, Value: "${{ request.body.url }}"}}}}),
	))
	genericProject(t, victim)
	srv := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv.Close)
	for _, body := range []string{
		`{"name":"gen-victim/app"}`, `{"name":"../gen-victim/app"}`, `{"name":"../../namespaces/gen-victim/warehouses/app"}`,
		`{"name":"gen-victim/p1"}`, `{"name":"app","label":"prod","url":"https://github.com/acme/app"}`,
	} {
		code, res, got := postGeneric(t, srv.URL+"/webhooks/"+attacker+"/ci", []byte(body), nil, attacker, victim)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d (%+v)", body, code, res)
		}
		for _, g := range got {
			if strings.Contains(g, "/"+victim+"/") {
				t.Errorf("%s: touched the other project's %s", body, g)
			}
		}
		for _, r := range res.Results {
			for _, st := range r.SelectedTargets {
				if st.Namespace != attacker {
					t.Errorf("%s: selected %+v outside the project", body, st)
				}
			}
		}
	}
	// The last body is legitimate in the attacker's own project: its objects are refreshed.
	_, _, got := postGeneric(t, srv.URL+"/webhooks/"+attacker+"/ci", []byte(`{"name":"p1","label":"prod","url":"https://github.com/acme/app"}`), nil, attacker, victim)
	want := []string{"Promotion/" + attacker + "/p1", "Warehouse/" + attacker + "/app", "Warehouse/" + attacker + "/ui"}
	if !slices.Equal(got, want) {
		t.Fatalf("own project: refreshed %v, want %v", got, want)
	}
}

// TestGenericActionsAuthentication: a generic receiver accepts the HMAC signature or the
// secret as a bearer token (?token=, Authorization: Bearer); a missing or wrong one
// answers 401 and runs no action; an oversized body is refused before anything.
func TestGenericActionsAuthentication(t *testing.T) {
	const p = "gen-auth"
	genericProject(t, p, genericReceiver("ci", refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", Name: "app"})))
	srv := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv.Close)
	url := srv.URL + "/webhooks/" + p + "/ci"
	body := []byte(`{}`)
	tests := []struct {
		name, query string
		headers     map[string]string
		code        int
	}{
		{"signed", "", nil, 200},
		{"query token", "?token=" + secretValue, map[string]string{SignatureHeader: ""}, 200},
		{"bearer token", "", map[string]string{SignatureHeader: "", "Authorization": "Bearer " + secretValue}, 200},
		{"nothing", "", map[string]string{SignatureHeader: ""}, 401},
		{"wrong token", "?token=" + secretValue + "x", map[string]string{SignatureHeader: ""}, 401},
		{"wrong bearer", "", map[string]string{SignatureHeader: "", "Authorization": "Bearer nope"}, 401},
		{"signature of another body", "", map[string]string{SignatureHeader: sign([]byte(`{"a":1}`))}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res, got := postGeneric(t, url+tt.query, body, tt.headers, p)
			if code != tt.code {
				t.Fatalf("status %d, want %d (%+v)", code, tt.code, res)
			}
			if refreshed := len(got) > 0; refreshed != (tt.code == 200) {
				t.Fatalf("refreshed %v with status %d", got, code)
			}
		})
	}
	big := []byte(`{"pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`)
	if code, _, got := postGeneric(t, url, big, nil, p); code != http.StatusRequestEntityTooLarge || len(got) > 0 {
		t.Fatalf("oversized body: status %d, refreshed %v", code, got)
	}
}

// TestClusterReceiversActInEveryProject: the ClusterConfig's receivers listen at
// /webhooks/-/cluster/<name> with their Secret in the cluster secrets namespace; a
// GitHub push refreshes the subscribed Warehouses of two projects, a generic action
// selecting by index does the same, and a Secret of the same name in a project
// namespace does not authenticate a cluster receiver.
func TestClusterReceiversActInEveryProject(t *testing.T) {
	ctx := context.Background()
	const shared, a, b = "gen-shared", "gen-cluster-a", "gen-cluster-b"
	genericProject(t, a)
	genericProject(t, b)
	env.Namespace(t, shared)
	if err := env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "cluster-hook"}, StringData: map[string]string{"secret": secretValue}}); err != nil {
		t.Fatal(err)
	}
	cref := haulv1.SecretRef{Name: "cluster-hook"}
	cc := &haulv1.ClusterConfig{ObjectMeta: metav1.ObjectMeta{Name: haulv1.ClusterConfigName}, Spec: haulv1.ClusterConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{
		{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: cref}},
		{Name: "ci", Generic: &haulv1.GenericWebhookProvider{SecretRef: cref, Actions: []haulv1.GenericWebhookAction{
			refreshAction("", haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", IndexSelector: &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{
				{Key: "subscribedURLs", Operator: haulv1.IndexSelectorEquals, Value: "${{ normalizeImage(request.body.image) }}"}}}}),
		}}},
		// Its Secret exists only in the project namespaces (hook-secret): never read there.
		{Name: "project-secret", Generic: &haulv1.GenericWebhookProvider{SecretRef: haulv1.SecretRef{Name: "hook-secret"}}},
	}}}
	if err := env.Client.Create(ctx, cc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cc) })
	srv := httptest.NewServer(NewHandlerWith(env.Client, env.Client, Options{ClusterSecretsNamespace: shared}))
	t.Cleanup(srv.Close)
	base := srv.URL + haulv1.ClusterWebhookReceiverPathPrefix

	ghPush := []byte(`{"ref":"refs/heads/main","repository":{"html_url":"https://github.com/acme/app"}}`)
	before := refreshes(t, a, b)
	time.Sleep(2 * time.Millisecond)
	code, resp := post(t, base+"gh", ghPush, map[string]string{"X-Hub-Signature-256": sign(ghPush), "X-GitHub-Event": "push"})
	if got, want := changed(before, refreshes(t, a, b)), []string{"Warehouse/" + a + "/app", "Warehouse/" + b + "/app"}; code != 200 || !slices.Equal(got, want) {
		t.Fatalf("github push: status %d (%s), refreshed %v, want %v", code, resp, got, want)
	}

	code, res, got := postGeneric(t, base+"ci", []byte(`{"image":"ghcr.io/acme/ui:1.2.3"}`), nil, a, b)
	if want := []string{"Warehouse/" + a + "/ui", "Warehouse/" + b + "/ui"}; code != 200 || !slices.Equal(got, want) {
		t.Fatalf("generic index action: status %d (%+v), refreshed %v, want %v", code, res, got, want)
	}

	if code, _, got := postGeneric(t, base+"project-secret", []byte(`{"repoURL":"https://github.com/acme/app"}`), nil, a, b); code != http.StatusUnauthorized || len(got) > 0 {
		t.Fatalf("cluster receiver authenticated by a project's Secret: status %d, refreshed %v", code, got)
	}
	// Without a cluster secrets namespace no cluster receiver authenticates.
	srv2 := httptest.NewServer(NewHandler(env.Client))
	t.Cleanup(srv2.Close)
	if code, _, got := postGeneric(t, srv2.URL+haulv1.ClusterWebhookReceiverPathPrefix+"ci", []byte(`{"image":"ghcr.io/acme/ui"}`), nil, a, b); code != http.StatusUnauthorized || len(got) > 0 {
		t.Fatalf("no cluster secrets namespace: status %d, refreshed %v", code, got)
	}
	if code, _ := post(t, base+"nope", ghPush, nil); code != http.StatusNotFound {
		t.Fatalf("unknown cluster receiver: %d", code)
	}
}

// TestGenericActionRulesOnTheAPIServer: the API server itself refuses a criterion that
// selects by nothing, an index on Promotions and Kargo's receiverPaths index, each with
// a message naming the field, and takes a valid action.
func TestGenericActionRulesOnTheAPIServer(t *testing.T) {
	const p = "gen-cel"
	env.Namespace(t, p)
	ctx := context.Background()
	index := &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{{Key: "subscribedURLs", Operator: haulv1.IndexSelectorEquals, Value: "x"}}}
	tests := map[string]struct {
		criteria haulv1.GenericWebhookTargetSelectionCriteria
		want     string
	}{
		"valid":              {haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", IndexSelector: index}, ""},
		"selects by nothing": {haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse"}, "targetSelectionCriteria[]: at least one of name, labelSelector or indexSelector must be set"},
		"index on Promotion": {haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Promotion", IndexSelector: index}, "only Warehouses are indexed"},
		"receiverPaths": {haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Warehouse", IndexSelector: &haulv1.IndexSelector{MatchIndices: []haulv1.IndexSelectorRequirement{
			{Key: "receiverPaths", Operator: haulv1.IndexSelectorEquals, Value: "x"}}}}, "receiverPaths indexes ProjectConfigs"},
		"unknown kind": {haulv1.GenericWebhookTargetSelectionCriteria{Kind: "Stage", Name: "x"}, `kind: Unsupported value: "Stage"`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			pc := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Namespace: p, Name: p},
				Spec: haulv1.ProjectConfigSpec{WebhookReceivers: []haulv1.WebhookReceiver{genericReceiver("ci", refreshAction("", tt.criteria))}}}
			err := env.Client.Create(ctx, pc, client.DryRunAll)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid action refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
