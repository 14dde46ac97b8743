package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	haulv1 "github.com/haul-dev/haul/api/v1alpha1"
)

var seq atomic.Int64

func name(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

func warehouse(ns string, subs ...haulv1.RepoSubscription) *haulv1.Warehouse {
	return &haulv1.Warehouse{
		ObjectMeta: metav1.ObjectMeta{Name: name("w"), Namespace: ns},
		Spec:       haulv1.WarehouseSpec{Subscriptions: subs},
	}
}

func image(repo string) *haulv1.ImageSubscription { return &haulv1.ImageSubscription{RepoURL: repo} }

func stage(ns string, reqs ...haulv1.FreightRequest) *haulv1.Stage {
	return &haulv1.Stage{
		ObjectMeta: metav1.ObjectMeta{Name: name("s"), Namespace: ns},
		Spec:       haulv1.StageSpec{RequestedFreight: reqs},
	}
}

func req(wh string, direct bool, upstream ...string) haulv1.FreightRequest {
	return haulv1.FreightRequest{
		Origin:  haulv1.FreightOrigin{Kind: haulv1.FreightOriginKindWarehouse, Name: wh},
		Sources: haulv1.FreightSources{Direct: direct, Stages: upstream},
	}
}

func withPolicy(r haulv1.FreightRequest, p haulv1.AutoPromotionSelectionPolicy) haulv1.FreightRequest {
	r.Sources.AutoPromotionOptions = &haulv1.AutoPromotionOptions{SelectionPolicy: p}
	return r
}

func withSteps(s *haulv1.Stage, steps ...haulv1.PromotionStep) *haulv1.Stage {
	s.Spec.PromotionTemplate = &haulv1.PromotionTemplate{Spec: haulv1.PromotionTemplateSpec{Steps: steps}}
	return s
}

func withApproval(s *haulv1.Stage, a haulv1.ApprovalRequirement) *haulv1.Stage {
	s.Spec.Approval = &a
	return s
}

// TestApprovalDefaultsToOne: an approval requirement without requiredApprovals is
// stored as one approval.
func TestApprovalDefaultsToOne(t *testing.T) {
	ns := env.Namespace(t, "approval-default")
	s := withApproval(stage(ns, req("w", true)), haulv1.ApprovalRequirement{ForbidSelfApproval: true})
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if s.Spec.Approval.RequiredApprovals != 1 {
		t.Fatalf("requiredApprovals = %d, want the default 1", s.Spec.Approval.RequiredApprovals)
	}
}

// TestCreateValidation applies one accepted and one rejected object per CEL rule and
// enum to the real API server; a rejection must name the offending field.
func TestCreateValidation(t *testing.T) {
	ns := env.Namespace(t, "validation")
	cases := []struct {
		name      string
		obj       client.Object
		wantError string // empty = accepted; else a substring naming the field
	}{
		{"subscription with image accepted", warehouse(ns, haulv1.RepoSubscription{Image: image("ghcr.io/acme/app")}), ""},
		{"subscription with nothing rejected", warehouse(ns, haulv1.RepoSubscription{}), "exactly one of image, git or chart"},
		{"subscription with image and git rejected", warehouse(ns, haulv1.RepoSubscription{
			Image: image("ghcr.io/acme/app"), Git: &haulv1.GitSubscription{RepoURL: "https://example.com/x.git"}}), "exactly one of image, git or chart"},
		{"image repoURL with a tag rejected", warehouse(ns, haulv1.RepoSubscription{Image: image("ghcr.io/acme/app:1.0")}), "repoURL"},
		{"image strategy Lexical accepted", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", ImageSelectionStrategy: "Lexical"}}), ""},
		{"image strategy enum rejected", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", ImageSelectionStrategy: "Newest"}}), "imageSelectionStrategy"},
		{"Digest with constraint accepted", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", ImageSelectionStrategy: "Digest", Constraint: "latest"}}), ""},
		{"Digest without constraint rejected", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", ImageSelectionStrategy: "Digest"}}), "image.constraint"},
		{"discoveryLimit 100 accepted", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", DiscoveryLimit: 100}}), ""},
		{"discoveryLimit 101 rejected", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", DiscoveryLimit: 101}}), "discoveryLimit"},
		{"platform accepted", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", Platform: "linux/arm64/v8"}}), ""},
		{"platform malformed rejected", warehouse(ns, haulv1.RepoSubscription{Image: &haulv1.ImageSubscription{RepoURL: "ghcr.io/a/b", Platform: "linux"}}), "platform"},
		{"git strategy NewestTag accepted", warehouse(ns, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "https://example.com/x.git", CommitSelectionStrategy: "NewestTag"}}), ""},
		{"git strategy enum rejected", warehouse(ns, haulv1.RepoSubscription{Git: &haulv1.GitSubscription{RepoURL: "https://example.com/x.git", CommitSelectionStrategy: "Oldest"}}), "commitSelectionStrategy"},
		{"http chart with name accepted", warehouse(ns, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: "https://charts.example.com", Name: "app"}}), ""},
		{"http chart without name rejected", warehouse(ns, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: "https://charts.example.com"}}), "chart.name"},
		{"oci chart with name rejected", warehouse(ns, haulv1.RepoSubscription{Chart: &haulv1.ChartSubscription{RepoURL: "oci://ghcr.io/acme/chart", Name: "x"}}), "chart.name"},
		{"freightCreationPolicy Manual accepted", func() client.Object {
			w := warehouse(ns, haulv1.RepoSubscription{Image: image("ghcr.io/a/b")})
			w.Spec.FreightCreationPolicy = haulv1.FreightCreationManual
			return w
		}(), ""},
		{"freightCreationPolicy enum rejected", func() client.Object {
			w := warehouse(ns, haulv1.RepoSubscription{Image: image("ghcr.io/a/b")})
			w.Spec.FreightCreationPolicy = "Sometimes"
			return w
		}(), "freightCreationPolicy"},

		{"stage direct accepted", stage(ns, req("w", true)), ""},
		{"stage with no source rejected", stage(ns, req("w", false)), "set direct or at least one upstream stage"},
		{"origin requested twice rejected", stage(ns, req("w", true), req("w", false, "test")), "an origin may be requested at most once"},
		{"two origins accepted", stage(ns, req("w", true), req("w2", true)), ""},
		{"MatchUpstream with one upstream accepted", stage(ns, withPolicy(req("w", false, "test"), haulv1.SelectMatchUpstream)), ""},
		{"MatchUpstream with two upstreams rejected", stage(ns, withPolicy(req("w", false, "a", "b"), haulv1.SelectMatchUpstream)), "MatchUpstream"},
		{"MatchUpstream with direct rejected", stage(ns, withPolicy(req("w", true, "a"), haulv1.SelectMatchUpstream)), "MatchUpstream"},
		{"selectionPolicy enum rejected", stage(ns, withPolicy(req("w", true), "Oldest")), "selectionPolicy"},
		{"availabilityStrategy All accepted", func() client.Object {
			r := req("w", false, "a", "b")
			r.Sources.AvailabilityStrategy = haulv1.AvailabilityAll
			return stage(ns, r)
		}(), ""},
		{"availabilityStrategy enum rejected", func() client.Object {
			r := req("w", false, "a")
			r.Sources.AvailabilityStrategy = "Most"
			return stage(ns, r)
		}(), "availabilityStrategy"},
		{"origin kind enum rejected", func() client.Object {
			r := req("w", true)
			r.Origin.Kind = "Registry"
			return stage(ns, r)
		}(), "origin.kind"},
		{"step with uses accepted", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{Uses: "git-clone"}), ""},
		{"step with task accepted", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{Task: &haulv1.PromotionTaskReference{Name: "t"}}), ""},
		{"step with neither rejected", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{As: "x"}), "exactly one of uses or task"},
		{"step with both rejected", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{Uses: "git-clone", Task: &haulv1.PromotionTaskReference{Name: "t"}}), "exactly one of uses or task"},
		{"task kind enum rejected", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{Task: &haulv1.PromotionTaskReference{Name: "t", Kind: "Job"}}), "kind"},
		{"step config object accepted", withSteps(stage(ns, req("w", true)), haulv1.PromotionStep{Uses: "fail", Config: &apiextensionsv1.JSON{Raw: []byte(`{"message":"x","nested":{"a":[1,2]}}`)}}), ""},

		{"webhook receiver with github accepted", &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: ns, Namespace: ns}, Spec: haulv1.ProjectConfigSpec{
			WebhookReceivers: []haulv1.WebhookReceiver{{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "s"}}}}}}, ""},
		{"webhook receiver with two providers rejected", &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: ns, Namespace: ns}, Spec: haulv1.ProjectConfigSpec{
			WebhookReceivers: []haulv1.WebhookReceiver{{Name: "gh", GitHub: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "s"}}, GitLab: &haulv1.WebhookProvider{SecretRef: haulv1.SecretRef{Name: "s"}}}}}}, "exactly one of github"},

		{"freight with images accepted", &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: name("f"), Namespace: ns},
			Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Images: []haulv1.Image{{RepoURL: "ghcr.io/a/b", Tag: "1.0.0"}}}, ""},
		{"freight without artifacts rejected", &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: name("f"), Namespace: ns},
			Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}}, "at least one of images, commits or charts"},
		{"freight commit message at its bound accepted", freightWithCommit(ns, strings.Repeat("m", 4096)), ""},
		{"freight commit message over its bound rejected", freightWithCommit(ns, strings.Repeat("m", 4097)), "commits[0].message"},
		{"legacy writeBranch over its bound rejected", func() client.Object {
			s := stage(ns, req("w", true))
			s.Spec.PromotionMechanisms = &haulv1.PromotionMechanisms{GitRepoUpdates: []haulv1.GitRepoUpdate{{
				RepoURL: "https://example.com/x.git", WriteBranch: strings.Repeat("b", 1025)}}}
			return s
		}(), "writeBranch"},
		{"approval of two accepted", withApproval(stage(ns, req("w", true)), haulv1.ApprovalRequirement{RequiredApprovals: 2, AllowedGroups: []string{"sre"}}), ""},
		{"requiredApprovals over 20 rejected", withApproval(stage(ns, req("w", true)), haulv1.ApprovalRequirement{RequiredApprovals: 21}), "spec.approval.requiredApprovals"},
		{"negative requiredApprovals rejected", withApproval(stage(ns, req("w", true)), haulv1.ApprovalRequirement{RequiredApprovals: -1}), "spec.approval.requiredApprovals"},
		{"allowedGroups twice the same rejected", withApproval(stage(ns, req("w", true)), haulv1.ApprovalRequirement{AllowedGroups: []string{"sre", "sre"}}), "spec.approval.allowedGroups"},
		{"approval policy over 20 rejected", &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: ns, Namespace: ns}, Spec: haulv1.ProjectConfigSpec{
			ApprovalPolicies: []haulv1.ApprovalPolicy{{ApprovalRequirement: haulv1.ApprovalRequirement{RequiredApprovals: 50}}}}}, "spec.approvalPolicies[0].requiredApprovals"},
		{"promotion accepted", &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name("p"), Namespace: ns}, Spec: haulv1.PromotionSpec{Stage: "test", Freight: "abc"}}, ""},
		{"promotion without stage rejected", &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name("p"), Namespace: ns}, Spec: haulv1.PromotionSpec{Freight: "abc"}}, "spec.stage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.obj)
			switch {
			case tc.wantError == "" && err != nil:
				t.Fatalf("want accepted, got %v", err)
			case tc.wantError != "" && err == nil:
				t.Fatalf("want rejected with %q, was accepted", tc.wantError)
			case tc.wantError != "" && !strings.Contains(err.Error(), tc.wantError):
				t.Fatalf("rejection does not name %q: %v", tc.wantError, err)
			}
		})
	}
}

func TestFreightContentIsImmutable(t *testing.T) {
	ns := env.Namespace(t, "immutable-freight")
	ctx := context.Background()
	f := &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: ns},
		Origin: haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"}, Images: []haulv1.Image{{RepoURL: "ghcr.io/a/b", Tag: "1.0.0"}}}
	if err := env.Client.Create(ctx, f); err != nil {
		t.Fatal(err)
	}
	// The alias is not content: it may change.
	f.Alias = "brave-otter"
	if err := env.Client.Update(ctx, f); err != nil {
		t.Fatalf("changing the alias was rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*haulv1.Freight)
		want   string
	}{
		{"tag changed", func(f *haulv1.Freight) { f.Images[0].Tag = "2.0.0" }, "images is immutable"},
		{"images removed", func(f *haulv1.Freight) {
			f.Images = nil
			f.Charts = []haulv1.Chart{{RepoURL: "oci://x/y", Version: "1.0.0"}}
		}, "immutable"},
		{"commits added", func(f *haulv1.Freight) { f.Commits = []haulv1.GitCommit{{RepoURL: "https://x/y.git", ID: "abc"}} }, "immutable"},
		{"origin changed", func(f *haulv1.Freight) { f.Origin.Name = "other" }, "origin is immutable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur := &haulv1.Freight{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f), cur); err != nil {
				t.Fatal(err)
			}
			tc.mutate(cur)
			err := env.Client.Update(ctx, cur)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want rejection naming %q, got %v", tc.want, err)
			}
		})
	}
}

func TestPromotionSpecIsImmutable(t *testing.T) {
	ns := env.Namespace(t, "immutable-promotion")
	ctx := context.Background()
	p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns}, Spec: haulv1.PromotionSpec{Stage: "test", Freight: "abc"}}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Freight = "def"
	err := env.Client.Update(ctx, p)
	if err == nil || !strings.Contains(err.Error(), "spec is immutable") {
		t.Fatalf("want 'spec is immutable', got %v", err)
	}
	// Metadata (e.g. the abort annotation) may still change.
	cur := &haulv1.Promotion{}
	_ = env.Client.Get(ctx, client.ObjectKeyFromObject(p), cur)
	cur.Annotations = map[string]string{haulv1.AnnotationAbort: "now"}
	if err := env.Client.Update(ctx, cur); err != nil {
		t.Fatalf("annotating a Promotion was rejected: %v", err)
	}
}

func TestProjectConfigNameMustEqualNamespace(t *testing.T) {
	ns := env.Namespace(t, "pcfg")
	ctx := context.Background()
	bad := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns}}
	// The admission policy is compiled asynchronously after installation; wait for it.
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for {
		err = env.Client.Create(ctx, bad)
		if err != nil || time.Now().After(deadline) {
			break
		}
		_ = env.Client.Delete(ctx, bad)
		bad = &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns}}
		time.Sleep(250 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "metadata.name") || !strings.Contains(err.Error(), ns) {
		t.Fatalf("want a rejection naming metadata.name and the namespace, got %v", err)
	}
	good := &haulv1.ProjectConfig{ObjectMeta: metav1.ObjectMeta{Name: ns, Namespace: ns}}
	if err := env.Client.Create(ctx, good); err != nil {
		t.Fatalf("ProjectConfig named after its namespace rejected: %v", err)
	}
}

// TestCreatingAPromotionNeedsThePromoteVerb checks the admission policy shipped with the
// CRDs: create on promotions is not enough, the caller needs promote on the Stage.
func TestCreatingAPromotionNeedsThePromoteVerb(t *testing.T) {
	ns := env.Namespace(t, "promote-verb")
	ctx := context.Background()
	create := func(rules ...rbacv1.PolicyRule) error {
		user := name("user")
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns}, Rules: rules}
		if err := env.Client.Create(ctx, role); err != nil {
			t.Fatal(err)
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}
		if err := env.Client.Create(ctx, rb); err != nil {
			t.Fatal(err)
		}
		c, err := env.Impersonate(user)
		if err != nil {
			t.Fatal(err)
		}
		p := &haulv1.Promotion{ObjectMeta: metav1.ObjectMeta{Name: name("p"), Namespace: ns}, Spec: haulv1.PromotionSpec{Stage: "prod", Freight: "abc"}}
		// RBAC changes and the policy take a moment to be seen; retry briefly.
		var last error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			last = c.Create(ctx, p.DeepCopy())
			if last == nil || strings.Contains(last.Error(), "needs verb promote") {
				return last
			}
		}
		return last
	}
	createOnly := rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"promotions"}, Verbs: []string{"create"}}
	err := create(createOnly)
	if err == nil || !strings.Contains(err.Error(), "you may not promote stage prod in project "+ns+" (needs verb promote on stages)") {
		t.Fatalf("create without promote: want a refusal naming the verb, got %v", err)
	}
	promote := rbacv1.PolicyRule{APIGroups: []string{"haul.dev"}, Resources: []string{"stages"}, Verbs: []string{"promote"}, ResourceNames: []string{"prod"}}
	if err := create(createOnly, promote); err != nil {
		t.Fatalf("create with promote on stage prod was refused: %v", err)
	}
}

func freightWithCommit(ns, message string) *haulv1.Freight {
	return &haulv1.Freight{ObjectMeta: metav1.ObjectMeta{Name: name("f"), Namespace: ns},
		Origin:  haulv1.FreightOrigin{Kind: "Warehouse", Name: "w"},
		Commits: []haulv1.GitCommit{{RepoURL: "https://example.com/x.git", ID: strings.Repeat("a", 40), Message: message}}}
}
